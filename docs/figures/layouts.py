"""The same 2x3 RGB image in memory: channels-last (NHWC, cnncore and Keras)
and channels-first (NCHW, PyTorch).  Flattening a contiguous array reads it in
this order, which is why the first dense layer's weights differ between the two."""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

H, W, C = 2, 3, 3
COLORS = ["#e8a09a", "#9fd39f", "#9cbbe8"]          # R, G, B
NAMES = "RGB"
hwc = np.array([(h, w, c) for h in range(H) for w in range(W) for c in range(C)])
chw = np.array([(h, w, c) for c in range(C) for h in range(H) for w in range(W)])

fig, ax = plt.subplots(figsize=(7.6, 2.7))
for row, (title, order) in enumerate([("channels-last (H, W, C): cnncore, Keras", hwc),
                                      ("channels-first (C, H, W): PyTorch", chw)]):
    y = -row * 2.0
    ax.text(0, y + 1.15, title, fontsize=9, va="bottom")
    for i, (h, w, c) in enumerate(order):
        ax.add_patch(Rectangle((i, y), 1, 1, facecolor=COLORS[c], edgecolor="0.3"))
        ax.text(i + 0.5, y + 0.62, NAMES[c], ha="center", va="center", fontsize=8)
        ax.text(i + 0.5, y + 0.27, f"{h},{w}", ha="center", va="center", fontsize=6)
ax.text(len(hwc) + 0.3, 0.5, "memory\naddress \u2192", fontsize=8, va="center")
ax.set_xlim(-0.2, len(hwc) + 2.6)
ax.set_ylim(-2.2, 1.6)
ax.set_aspect("equal")
ax.axis("off")
fig.tight_layout()
