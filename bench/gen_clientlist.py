"""Generate a realistic client list (服务对象名单) CSV for the import benchmark.

    python bench/gen_clientlist.py OUT.csv --rows 1000000 --encoding gbk --seed 1 [--mix MIX]

Layout as units produce it in Excel: a title row, the header
(序号,姓名,联系电话,服务事项,办理日期,类型), the data rows, a 合计 row and a
制表人 row at the end. Phones come in mixed dresses (plain mobiles, spaced or
dashed, +86 / 0086, full-width digits, 027 landlines, 8-digit local numbers)
and about 2% are bad (missing, invalid, Excel-mangled 1.38E+10, duplicates).
Names, services, dates and kinds are Chinese and deterministic for a seed.
``--mix`` picks how the good numbers are written: ``mixed`` (the default,
above), ``plain`` (plain 11-digit mobiles only) or ``spaced`` (a quarter of
the mobiles written with spaces, ``138 1234 5678``, and an eighth of the
numbers 027- landlines); the bad rows are the same 2% in every mix.
Rows are written as they are generated (memory stays flat).

Full-width digits are only written when the encoding can hold them (GBK and
GB18030 can). Rows are written with CRLF endings, as Excel does.
"""

from __future__ import annotations

import argparse
import random
import sys

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬芳燕彩春菊兰凤"
    "洁梅琳素云莲真环雪荣爱妹霞香月莺媛艳瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎"
    "锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿"
    "聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可姬舒影荔枝思"
    "丽"
)
COMPANIES = (
    "蔡甸区城关便民超市",
    "湖北韵达物流分拨中心",
    "武汉知音湖建材有限公司",
    "蔡甸区奓山街农机合作社",
    "武汉西湖园林工程有限公司",
    "蔡甸区永安街卫生服务站",
    "武汉汉南食品有限公司",
    "蔡甸区玉贤镇养殖专业合作社",
)
SERVICES = (
    "户籍办理",
    "居住证办理",
    "食品经营许可",
    "营业执照变更",
    "不动产登记",
    "社保转移",
    "排水报修",
    "渍水报警",
    "税务登记",
    "出入境证件",
)
# Mobile number blocks (first three digits) as issued in mainland China.
MOBILE_PREFIXES = tuple(
    f"1{b}"
    for b in (
        *("30", "31", "32", "33", "34", "35", "36", "37", "38", "39", "45", "47"),
        *("50", "51", "52", "53", "55", "56", "57", "58", "59", "66", "67"),
        *("70", "71", "72", "73", "75", "76", "77", "78"),
        *("80", "81", "82", "83", "84", "85", "86", "87", "88", "89"),
        *("90", "91", "92", "93", "95", "96", "97", "98", "99"),
    )
)
FULLWIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")


def _mobile(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def _landline(rng: random.Random) -> str:
    return f"{rng.randint(2, 8)}{rng.randrange(10**7):07d}"


def _dress_mobile(m: str, rng: random.Random, fullwidth_ok: bool) -> str:
    r = rng.random()
    if r < 0.55:
        return m
    if r < 0.63:
        return f"{m[:3]} {m[3:7]} {m[7:]}"
    if r < 0.71:
        return f"{m[:3]}-{m[3:7]}-{m[7:]}"
    if r < 0.78:
        return "+86" + m
    if r < 0.83:
        return "+86 " + m
    if r < 0.87:
        return "0086" + m
    if r < 0.91:
        return f" {m}\t"
    if r < 0.95 and fullwidth_ok:
        return m.translate(FULLWIDTH)
    return m


def _dress_landline(n: str, rng: random.Random, fullwidth_ok: bool) -> str:
    r = rng.random()
    if r < 0.35:
        return "027-" + n
    if r < 0.55:
        return f"(027){n}"
    if r < 0.70:
        return "027" + n
    if r < 0.80 and fullwidth_ok:
        return ("027-" + n).translate(FULLWIDTH)
    return n  # local 8 digits, completed with 027


MIXES = ("mixed", "plain", "spaced")


def _good_phone(mix: str, rng: random.Random, r: float, fullwidth_ok: bool) -> str:
    if mix == "plain":
        return _mobile(rng)
    if mix == "spaced":
        if rng.random() < 0.125:
            return "027-" + _landline(rng)
        m = _mobile(rng)
        return f"{m[:3]} {m[3:7]} {m[7:]}" if rng.random() < 0.25 else m
    if r < 0.20:
        return _dress_landline(_landline(rng), rng, fullwidth_ok)
    return _dress_mobile(_mobile(rng), rng, fullwidth_ok)


def generate(out, rows: int, encoding: str, seed: int, mix: str = "mixed") -> None:
    rng = random.Random(seed)
    fullwidth_ok = encoding.lower().replace("-", "") in ("gbk", "gb18030", "utf8", "utf8sig")
    earlier: list[str] = []

    def line(cells) -> None:
        out.write((",".join(cells) + "\r\n").encode(encoding))

    line(["蔡甸区某单位2017年服务对象名单", "", "", "", "", ""])
    line(["序号", "姓名", "联系电话", "服务事项", "办理日期", "类型"])
    buf: list[str] = []
    for i in range(1, rows + 1):
        enterprise = rng.random() < 0.15
        if enterprise:
            name = rng.choice(COMPANIES)
        else:
            name = rng.choice(SURNAMES) + "".join(
                rng.choice(GIVEN) for _ in range(rng.randint(1, 2))
            )
        r = rng.random()
        if r < 0.005:
            phone = rng.choice(("", "无", "-", "电话未留"))
        elif r < 0.010:
            phone = rng.choice(("12345678901", "2784912", "95588", "1381234567", "0000000"))
        elif r < 0.015:
            phone = f"1.{rng.randint(30, 99)}E+10"
        elif r < 0.020 and earlier:
            phone = rng.choice(earlier)
        else:
            phone = _good_phone(mix, rng, r, fullwidth_ok)
        if r >= 0.020 and len(earlier) < 1000 and rng.random() < 0.01:
            earlier.append(phone)  # a good number that a later row repeats
        date = f"2017-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        buf.append(
            ",".join(
                (str(i), name, phone, rng.choice(SERVICES), date, "企业" if enterprise else "群众")
            )
        )
        if len(buf) >= 5000:
            out.write(("\r\n".join(buf) + "\r\n").encode(encoding))
            buf.clear()
    if buf:
        out.write(("\r\n".join(buf) + "\r\n").encode(encoding))
    line(["合计", f"{rows}人", "", "", "", ""])
    line(["制表人：张三", "", "审核人：李四", "", "制表日期：2018-01-05", ""])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", help="output CSV path ('-' for stdout)")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--encoding", default="gbk")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--mix", choices=MIXES, default="mixed")
    args = ap.parse_args(argv)
    if args.out == "-":
        generate(sys.stdout.buffer, args.rows, args.encoding, args.seed, args.mix)
    else:
        with open(args.out, "wb") as f:
            generate(f, args.rows, args.encoding, args.seed, args.mix)
    return 0


if __name__ == "__main__":
    sys.exit(main())
