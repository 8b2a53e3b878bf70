"""SAME and VALID along one axis: kernel 3, stride 2, inputs 7 and 8 wide.

The paddings and window positions come from cnncore itself
(conv_padding, conv_output_size), so the picture shows what the library does.
"""
import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle

import cnncore

K, S = 3, 2
CASES = [(7, "valid"), (7, "same"), (8, "valid"), (8, "same")]
WINDOW_COLORS = ["tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:red"]

fig, axes = plt.subplots(len(CASES), 1, figsize=(7.2, 1.35 * len(CASES)))
for ax, (size, padding) in zip(axes, CASES):
    before, after = cnncore.conv_padding(size, K, stride=S, padding=padding)
    out = cnncore.conv_output_size(size, K, stride=S, padding=padding)
    covered = set()
    for j in range(out):
        start = j * S - before                       # first input index under window j
        covered.update(range(start, start + K))
        level = j % 2
        y = -0.35 - 0.45 * level
        color = WINDOW_COLORS[j % len(WINDOW_COLORS)]
        ax.plot([start + 0.08, start + K - 0.08], [y, y], color=color, lw=3,
                solid_capstyle="butt")
        ax.text(start + K / 2, y - 0.22, f"y[{j}]", ha="center", va="top", fontsize=8,
                color=color)
    for i in range(-before, size + after):
        pad = i < 0 or i >= size
        dropped = not pad and i not in covered
        face = "0.85" if pad else ("#f4c7c3" if dropped else "white")
        ax.add_patch(Rectangle((i, 0), 1, 1, facecolor=face, edgecolor="0.3",
                               hatch="//" if pad else None))
        ax.text(i + 0.5, 0.5, "0" if pad else f"x{i}", ha="center", va="center", fontsize=8)
    note = (f"pad ({before}, {after})" if padding == "same"
            else "no padding" + (f"; x{size - 1} is never read" if size - 1 not in covered else ""))
    ax.set_title(f"{padding.upper()}, input {size} wide: {out} outputs, {note}",
                 fontsize=9, loc="left")
    ax.set_xlim(-1.5, 9.5)
    ax.set_ylim(-1.35, 1.1)
    ax.set_aspect("equal")
    ax.axis("off")
fig.tight_layout()
