"""The convolution equation, typeset with matplotlib's mathtext (no LaTeX, no network)."""
import matplotlib.pyplot as plt

EQUATION = (r"$y_{b,i,j,o} \;=\; \sum_{m=0}^{KH-1}\;\sum_{n=0}^{KW-1}\;\sum_{c=0}^{C_{in}-1}\;"
            r"x^{\mathrm{pad}}_{b,\;i s_h + m d_h,\;j s_w + n d_w,\;c}\;K_{m,n,c,o}"
            r"\;+\;\mathrm{bias}_o$")

plt.rcParams["mathtext.fontset"] = "cm"
fig = plt.figure(figsize=(6.4, 0.9))
fig.text(0.5, 0.5, EQUATION, ha="center", va="center", fontsize=15)
