import textwrap, sys
src, out = sys.argv[1], sys.argv[2]
W, H = 595, 842
LM, TOP, BOT = 56, 780, 70
LH = 14
lines = open(src, encoding="utf-8").read().split("\n")
# layout into pages: items (font, size, x, text)
pages, cur, y = [], [], TOP
def newpage():
    global cur, y
    pages.append(cur); cur = []; y = TOP
def put(font, size, x, text, lh=LH):
    global y
    if y < BOT + lh:
        newpage()
    cur.append((font, size, x, y, text)); y -= lh
title_done = False
for ln in lines:
    if not ln.strip():
        y -= 6; continue
    if ln.startswith("#"):
        t = ln[1:]
        y -= 6
        put("F2", 12, LM, t, 18)
        continue
    if ln.startswith("Class "):
        num, desc = ln[:10].strip(), ln[10:].strip()
        wrapped = textwrap.wrap(desc, 74)
        if y < BOT + LH * (len(wrapped) + 1):
            newpage()
        put("F1", 10, LM, num, 0)  # same line
        y += 0
        for i, w in enumerate(wrapped):
            put("F1", 10, LM + 60, w)
        continue
    for w in textwrap.wrap(ln, 92):
        put("F1", 10, LM, w)
pages.append(cur)
n = len(pages)
def esc(s):
    return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
objs = []
def add(b):
    objs.append(b); return len(objs)
f1 = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
f2 = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>")
pages_id = len(objs) + 1 + 2 * n + 1  # placeholder computed later
page_ids = []
content_ids = []
for i, items in enumerate(pages):
    ops = []
    hdr = [("F1", 8, LM, 810, "Lowick and District Horticultural Society - Annual Show 2027")]
    ftr = [("F1", 8, W / 2 - 20, 40, f"Page {i+1} of {n}")]
    for font, size, x, yy, t in hdr + items + ftr:
        ops.append(f"BT /{font} {size} Tf {x:.1f} {yy:.1f} Td ({esc(t)}) Tj ET")
    data = "\n".join(ops).encode("cp1252")
    cid = add(b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream")
    content_ids.append(cid)
    page_ids.append(add(None))
info = add(b"<< /Title (Lowick Show 2027: Schedule of Classes and Rules) /Producer (mkpdf) >>")
pid = add(None)
for i, pg in enumerate(page_ids):
    objs[pg - 1] = (b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %d %d] /Resources << /Font << /F1 %d 0 R /F2 %d 0 R >> >> /Contents %d 0 R >>" % (pid, W, H, f1, f2, content_ids[i]))
objs[pid - 1] = b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % p for p in page_ids) + b"] /Count %d >>" % n
cat = add(b"<< /Type /Catalog /Pages %d 0 R >>" % pid)
buf = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
offs = []
for i, o in enumerate(objs):
    offs.append(len(buf))
    buf += b"%d 0 obj\n" % (i + 1) + o + b"\nendobj\n"
x = len(buf)
buf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
for o in offs:
    buf += b"%010d 00000 n \n" % o
buf += b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, cat, info, x)
open(out, "wb").write(buf)
print(n, "pages")
