import json, re, html, pathlib, pypdf
docs = {}
for p in pathlib.Path("outside-8/docs").iterdir():
    if p.suffix == ".pdf":
        t = "\n".join(pg.extract_text() for pg in pypdf.PdfReader(str(p)).pages)
    else:
        t = p.read_text(encoding="utf-8")
        if p.suffix == ".html":
            t = re.sub(r"<style.*?</style>", "", t, flags=re.S)
            t = html.unescape(re.sub(r"<[^>]+>", " ", t))
        if p.suffix == ".md":
            t = t.replace("**", "")
    docs[p.name] = re.sub(r"\s+", " ", t)
bad = 0
for line in open("outside-8/questions.jsonl"):
    q = json.loads(line)
    if q["answer"] is None: continue
    hits = {n: d.count(q["answer"]) for n, d in docs.items() if q["answer"] in d}
    if len(hits) != 1:
        bad += 1
    print(q["id"], repr(q["answer"]), hits)
print("not in exactly one doc:", bad)
