"""SAME in 2-D: a 6x6 input, 3x3 kernel, stride 2 gives 3x3 outputs; the one
extra row and column of zeros go at the bottom and on the right (TensorFlow's rule)."""
import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle

import cnncore

SIZE, K, S = 6, 3, 2
top, bottom = cnncore.conv_padding(SIZE, K, stride=S, padding="same")
out = cnncore.conv_output_size(SIZE, K, stride=S, padding="same")
SHOWN = {(0, 0): "tab:blue", (1, 2): "tab:orange", (2, 2): "tab:green"}

fig, (ax, ay) = plt.subplots(1, 2, figsize=(7.0, 3.4), width_ratios=[SIZE + 1, out + 1])
n = top + SIZE + bottom
for r in range(n):
    for c in range(n):
        pad = not (top <= r < top + SIZE and top <= c < top + SIZE)
        ax.add_patch(Rectangle((c, -r - 1), 1, 1, facecolor="0.85" if pad else "white",
                               edgecolor="0.4", hatch="//" if pad else None))
for (i, j), color in SHOWN.items():
    ax.add_patch(Rectangle((j * S + 0.06, -i * S - K + 0.06), K - 0.12, K - 0.12,
                           facecolor=color, alpha=0.25, edgecolor=color, lw=2))
    ay.add_patch(Rectangle((j, -i - 1), 1, 1, facecolor=color, alpha=0.5))
for i in range(out):
    for j in range(out):
        ay.add_patch(Rectangle((j, -i - 1), 1, 1, facecolor="none", edgecolor="0.3"))
        ay.text(j + 0.5, -i - 0.5, f"{i},{j}", ha="center", va="center", fontsize=8)
ax.set_title(f"input {SIZE}x{SIZE} padded to {n}x{n}\n(pad top/left {top}, bottom/right {bottom})",
             fontsize=9)
ay.set_title(f"output {out}x{out}", fontsize=9)
ax.set_xlim(-0.2, n + 0.2)
ax.set_ylim(-n - 0.2, 0.2)
ay.set_xlim(-0.2, out + 0.2)
ay.set_ylim(-n - 0.2, 0.2)
for a in (ax, ay):
    a.set_aspect("equal")
    a.axis("off")
fig.tight_layout()
