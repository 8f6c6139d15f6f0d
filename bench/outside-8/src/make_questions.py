import json
Q = []
def a(i, q, ans, hist=None):
    d = {"id": i, "question": q, "answer": ans}
    if hist: d["history"] = hist
    Q.append(d)
a("j01", "How much does the head gardener job pay?", "£31,500 to £34,000 a year")
a("j02", "What's the deadline for applying for the Thornbury job?", "noon on Friday 12 March 2027")
a("j03", "Who would the new head gardener answer to?", "Colm Fitzgerald")
a("j04", "Who designed the gardens at Thornbury Hall?", "Beatrix Mallory")
a("j05", "How many people came to see the gardens last season?", "61,400 visitors")
a("j06", "What's the rent on the estate cottage?", "£450 a month")
a("j07", "How much does the employer put into the pension?", "6% of salary")
a("j08", "How much money is set aside for redoing the rose garden?", "£40,000")
a("j09", "Which spraying certificates would help my application?", "PA1 and PA6")
a("j10", "How long has she been doing the job?", "nineteen years", ["Who is the current head gardener at Thornbury?"])
a("w01", "How long is the Westerdale Traverse in total?", "102 km")
a("w02", "What does the guided walk cost?", "£1,245 per person")
a("w03", "I'm travelling alone - how much extra is a single room?", "£310")
a("w04", "What's the highest point we reach on the walk?", "Harker Rigg")
a("w05", "How far do we walk on the longest day?", "24 km")
a("w06", "Where do we stay on the first night?", "Black Bull Inn")
a("w07", "How heavy can my bag be for the luggage transfer?", "18 kg")
a("w08", "Can I bring my dog along?", "Dogs cannot be taken")
a("w09", "Which departure is already fully booked?", "Sunday 18 July")
a("w10", "How long has she been guiding there?", "since 2014", ["Who leads the Westerdale Traverse?"])
a("v01", "What had the dog eaten that caused the blockage?", "corn cob")
a("v02", "Who operated on Juniper?", "Hugo Lindqvist")
a("v03", "How much Metacam do I give her each day?", "1.1 ml")
a("v04", "How long does Juniper have to keep the cone on?", "until the stitches are out")
a("v05", "When are her stitches being taken out?", "Monday 15 November at 10:40")
a("v06", "What was the total bill for Juniper's treatment?", "£3,184.60")
a("v07", "How long did the surgery take?", "70 minutes")
a("v08", "How big was the piece they removed from her gut?", "4.5 cm long")
a("v09", "When should I give it to her?", "30 minutes before breakfast", ["What is the omeprazole for?"])
a("v10", "When is the check-up with her?", "Tuesday 9 November at 16:20", ["Which vet admitted Juniper?"])
a("h01", "When's the last day to get entries in for the Lowick show?", "by 7 pm on Thursday 19 August")
a("h02", "How much is it for a grown-up to get into the show?", "£2 for adults")
a("h03", "What does a first prize win you?", "£3 for first place")
a("h04", "What are the prizes for the biggest marrow?", "£10, £5 and £3")
a("h05", "What can I fill the Victoria sponge with?", "raspberry jam")
a("h06", "Which trophy goes to the best vegetable grower?", "The Hargreaves Cup")
a("h07", "Who has won the vegetable cup the last few years?", "Derek Foulds")
a("h08", "How much is membership of the horticultural society?", "£5 a year")
a("h09", "What happens to exhibits nobody picks up?", "Lowick Community Larder")
a("h10", "What about the flowers?", "Isobel Quayle", ["Who is judging the vegetables at the Lowick show?"])
for i, q in enumerate([
    "How do I renew my passport?",
    "Who wrote Pride and Prejudice?",
    "What is the exchange rate between the euro and the dollar?",
    "What's the best way to learn Python programming?",
    "When is the next total solar eclipse?"], 1):
    a(f"o{i:02d}", q, None)
for i, q in enumerate([
    "What council tax band is the gardener's cottage at Thornbury?",
    "How much did the Heritage Fund give towards restoring the walled kitchen garden?",
    "What does the apprentice gardener at Thornbury Hall get paid?",
    "How many people have applied for the head gardener post so far?",
    "Where did Margaret Ibbotson train as a gardener?",
    "How much does the Westerdale Traverse cost for a child?",
    "What is the phone number of the Black Bull Inn?",
    "Is there Wi-Fi at Mossdale Hall?",
    "How much is the train fare from Leeds to Kirkby Fell?",
    "How high is the limestone pavement at Scar Top?",
    "How much did Juniper's X-rays cost?",
    "Which insurance company is Juniper insured with?",
    "What was Juniper's temperature when she was admitted?",
    "When was Juniper last vaccinated?",
    "How long has Dr Lindqvist worked at Hartwell Veterinary Hospital?",
    "How many entries were there at last year's Lowick show?",
    "Who won the Wilmot Rose Bowl last year?",
    "How much does a cup of tea cost at the Lowick show?",
    "Who is judging the children's classes at the show?",
    "How many classes are there in the dog show?"], 1):
    a(f"n{i:02d}", q, None)
with open("outside-8/questions.jsonl", "w") as f:
    for d in Q:
        f.write(json.dumps(d, ensure_ascii=False) + "\n")
print(len(Q), sum(d["answer"] is None for d in Q))
