"""Table-driven tests for intents.entities, written as real shoppers type."""

from __future__ import annotations

import itertools
import logging
import random
import re
import time

import pytest

from intents.entities import Entity, extract, mask_pii, slots_from

Expected = list[tuple[str, float | int | str]]

HEIGHT_WEIGHT: list[tuple[str, Expected]] = [
    ("亲 我一米七五 一百四十斤穿多大", [("height", 175), ("weight", 140)]),
    ("170 65kg 平时穿XL", [("height", 170), ("weight", 130), ("size", "XL")]),
    ("體重６５公斤", [("weight", 130)]),
    ("身高170体重65", [("height", 170), ("weight", 130)]),
    ("我175cm 偏瘦", [("height", 175)]),
    ("身高175厘米 体重140斤", [("height", 175), ("weight", 140)]),
    ("男 1.75m 75kg", [("height", 175), ("weight", 150)]),
    ("1.75米 130斤 宽松点的", [("height", 175), ("weight", 130)]),
    ("1米75 150斤能穿吗", [("height", 175), ("weight", 150)]),
    ("老公1米7 140斤", [("height", 170), ("weight", 140)]),
    ("1米8 180斤 胖子能穿吗", [("height", 180), ("weight", 180)]),
    ("1.8米的个子 穿XL", [("height", 180), ("size", "XL")]),
    ("一米七五的个子 穿L可以吗", [("height", 175), ("size", "L")]),
    ("一米七 一百斤 女生", [("height", 170), ("weight", 100)]),
    ("我一米八 一百六十斤", [("height", 180), ("weight", 160)]),
    ("一七五 一百四 拿哪个", [("height", 175), ("weight", 140)]),
    ("身高170 胖一点", [("height", 170)]),
    ("170的个子 穿多大合适", [("height", 170)]),
    ("一百七十五公分 一百五十斤", [("height", 175), ("weight", 150)]),
    ("180公分 75公斤", [("height", 180), ("weight", 150)]),
    ("身高一米七 體重一百斤", [("height", 170), ("weight", 100)]),
    ("身高一百八 穿2XL", [("height", 180), ("size", "2XL")]),
    ("高180 穿多大", [("height", 180)]),
    ("个子165 偏瘦", [("height", 165)]),
    ("身高1.68 体重50公斤", [("height", 168), ("weight", 100)]),
    ("身高 1.7 米", [("height", 170)]),
    ("我170 130斤 平时穿L", [("height", 170), ("weight", 130), ("size", "L")]),
    ("170/65kg 要M还是L", [("height", 170), ("weight", 130), ("size", "M"), ("size", "L")]),
    ("身高170cm体重60kg", [("height", 170), ("weight", 120)]),
    ("身高 165 体重 100斤", [("height", 165), ("weight", 100)]),
    ("165，50kg，M还是L", [("height", 165), ("weight", 100), ("size", "M"), ("size", "L")]),
    ("亲，160/100斤", [("height", 160), ("weight", 100)]),
    ("168 110 能穿S吗", [("height", 168), ("weight", 110), ("size", "S")]),
    ("170 130", [("height", 170), ("weight", 130)]),
    ("180 160斤 穿2XL够吗", [("height", 180), ("weight", 160), ("size", "2XL")]),
    ("１７０ １３０斤", [("height", 170), ("weight", 130)]),
    ("身高１７５ｃｍ", [("height", 175)]),
    ("小孩120cm", [("height", 120)]),
    ("宝宝身高90 体重30斤", [("height", 90), ("weight", 30)]),
    ("个子高170 重110", [("height", 170), ("weight", 110)]),
    ("身高:168cm 体重:55kg", [("height", 168), ("weight", 110)]),
    ("我170 体重120多斤", [("height", 170), ("weight", 120)]),
    ("120斤 160 穿哪个码", [("weight", 120), ("height", 160)]),
    ("亲 这件有XL吗 我175 140斤", [("size", "XL"), ("height", 175), ("weight", 140)]),
    ("我130斤", [("weight", 130)]),
    ("体重120斤左右", [("weight", 120)]),
    ("60kg穿什么码", [("weight", 120)]),
    ("60公斤的穿M行吗", [("weight", 120), ("size", "M")]),
    ("60千克 偏胖", [("weight", 120)]),
    ("一百二十斤穿M可以吗", [("weight", 120), ("size", "M")]),
    ("1百斤能穿吗", [("weight", 100)]),
    ("120 jin 穿s", [("weight", 120), ("size", "S")]),
    ("120市斤", [("weight", 120)]),
    ("体重60.5kg", [("weight", 121)]),
    ("体重65", [("weight", 130)]),
    ("体重135", [("weight", 135)]),
    ("130多斤的穿XL会不会大", [("weight", 130), ("size", "XL")]),
    ("体重一百三 身高一米六五", [("weight", 130), ("height", 165)]),
    ("我妈一百一十斤 一米五八", [("weight", 110), ("height", 158)]),
    ("一米五八 九十五斤", [("height", 158), ("weight", 95)]),
    ("體重１２０斤，身高１６０", [("weight", 120), ("height", 160)]),
    ("我身高一米六，体重九十斤，穿S吗", [("height", 160), ("weight", 90), ("size", "S")]),
    # unit-less weight next to a known height: the reading with the ordinary BMI wins
    ("160 90 穿S还是M", [("height", 160), ("weight", 90), ("size", "S"), ("size", "M")]),
    ("身高160 体重45 穿s还是m", [("height", 160), ("weight", 90), ("size", "S"), ("size", "M")]),
]

SHOES_AND_FEET: list[tuple[str, Expected]] = [
    ("平时穿42码的鞋", [("shoe_size", 42)]),
    ("这鞋38码合适吗", [("shoe_size", 38)]),
    ("穿42的鞋 这款要拿大一码吗", [("shoe_size", 42)]),
    ("鞋码39 脚背高", [("shoe_size", 39)]),
    ("平时穿39 这双鞋偏大吗", [("shoe_size", 39)]),
    ("这双鞋有38的吗", [("shoe_size", 38)]),
    ("EU42有吗", [("shoe_size", 42)]),
    ("欧码43 有没有", [("shoe_size", 43)]),
    ("37.5码的鞋有没有", [("shoe_size", 37.5)]),
    ("我穿三十九码的鞋", [("shoe_size", 39)]),
    ("鞋子买38码还是39码", [("shoe_size", 38), ("shoe_size", 39)]),
    ("42码", [("shoe_size", 42)]),
    ("脚长25.5cm穿多大", [("foot_length", 255)]),
    ("脚长 245mm 穿几码", [("foot_length", 245)]),
    ("脚长24厘米 这鞋拿多大", [("foot_length", 240)]),
    ("我脚长二十五厘米", [("foot_length", 250)]),
    ("脚长26.5", [("foot_length", 265)]),
    ("我脚长250 穿多大的鞋", [("foot_length", 250)]),
    ("鞋子穿40的 脚长250mm", [("shoe_size", 40), ("foot_length", 250)]),
]

SIZES_AND_WAIST: list[tuple[str, Expected]] = [
    ("我穿L码", [("size", "L")]),
    ("L的还有吗", [("size", "L")]),
    ("拿M", [("size", "M")]),
    ("xxl有货吗", [("size", "2XL")]),
    ("XXXL能到吗", [("size", "3XL")]),
    ("2xl还有吗", [("size", "2XL")]),
    ("ＸＬ有现货吗", [("size", "XL")]),
    ("平时穿S 这件要大一码吗", [("size", "S")]),
    ("xs有吗 我很瘦", [("size", "XS")]),
    ("4XL 还有吗 老公胖", [("size", "4XL")]),
    ("M的和L的各一件", [("size", "M"), ("size", "L")]),
    ("LOL 这个颜色好看", []),
    ("MM 在吗", []),
    ("腰围二尺二 穿多大裤子", [("waist", 73)]),
    ("2尺2的腰 拿哪个码", [("waist", 73)]),
    ("腰围70 穿哪个码", [("waist", 70)]),
    ("腰围 70cm 裤子选几码", [("waist", 70)]),
    ("腰围2尺 能穿吗", [("waist", 67)]),
    ("二尺一的腰穿M可以吗", [("waist", 70), ("size", "M")]),
    ("腰 2尺3", [("waist", 77)]),
    ("二尺二寸的腰", [("waist", 73)]),
    ("腰围28寸", [("waist", 71)]),
]

ORDERS_PHONES_MONEY: list[tuple[str, Expected]] = [
    ("订单号 2345678901234567 什么时候发货", [("order_id", "2345678901234567")]),
    ("单号: 123456789012 怎么还没到", [("order_id", "123456789012")]),
    ("订单编号：3456789012345", [("order_id", "3456789012345")]),
    ("[ORDERID_10005753] 还没发货", [("order_id", "10005753")]),
    ("帮我查下[订单x]", [("order_id", "[订单x]")]),
    ("我的订单是 20241120123456 麻烦看下", [("order_id", "20241120123456")]),
    ("订单号是13812345678", [("phone", "13812345678")]),
    ("138-1234-5678 打这个电话", [("phone", "13812345678")]),
    ("+86 13812345678 收货电话", [("phone", "13812345678")]),
    ("手机号13912345678 地址没变", [("phone", "13912345678")]),
    ("联系电话 186 1234 5678", [("phone", "18612345678")]),
    ("電話 138 1234 5678", [("phone", "13812345678")]),
    ("电话0086-13912345678", [("phone", "13912345678")]),
    ("这件99元吗", [("money", 99.0)]),
    ("¥199包邮吗", [("money", 199.0)]),
    ("¥１９９", [("money", 199.0)]),
    ("199块能不能便宜", [("money", 199.0)]),
    ("五十块钱的运费也太贵了", [("money", 50.0)]),
    ("便宜20块我就拍", [("money", 20.0)]),
    ("预算1.5万 买几件", [("money", 15000.0)]),
    ("300多元的那款还有吗", [("money", 300.0)]),
    ("才两百块 质量怎么样", [("money", 200.0)]),
    ("价格是199 有优惠吗", [("money", 199.0)]),
    ("退款30元什么时候到", [("money", 30.0)]),
    ("差价30能退吗", [("money", 30.0)]),
    ("3块5一个", [("money", 3.5)]),
    ("原价299 现价199", [("money", 299.0), ("money", 199.0)]),
]

# Numbers that are prices, counts, dates, model numbers … must never become height/weight.
NOT_MEASUREMENTS: list[str] = [
    "这件199元 能便宜点吗",
    "买2件 3天了还没到",
    "11月20号下的单 下午3点前能发吗",
    "2024年双11买的",
    "iPhone 15 有货吗",
    "小米13的手机壳还有吗",
    "打8折吗 还是50%",
    "L码还有吗",
    "150块包邮吗",
    "我买了180件 能批发价吗",
    "等了160天了",
    "你是第170位客服吗",
    "满200减30怎么用",
    "iphone 15 pro 256g",
    "亲 168元两件吗",
    "这个2.5米的线",
    "门牌号175号",
    "房间号 1702",
    "邮编 200120",
    "几点发货 17:30",
    "快递 150斤 能寄吗",
    "一米五的床有没有",
    "衣长70cm 胸围100cm",
    "净重5斤 一箱20斤",
    "宝宝18个月了",
    "2个160的 1个170的",
    "订单号 2345678901234567",
    "13812345678",
    "今年35岁 想买件外套",
    "给个链接 https://item.taobao.com/item.htm?id=1234567",
    "175 穿哪个码",
    "XL码 175/96A",
    "重1.5kg的包",
    "这双鞋40块",
    "鞋子买了40天",
]

ALL_LINES = [
    line
    for table in (HEIGHT_WEIGHT, SHOES_AND_FEET, SIZES_AND_WAIST, ORDERS_PHONES_MONEY)
    for line, _ in table
] + NOT_MEASUREMENTS


def _pairs(text: str) -> Expected:
    return [(e.kind, e.value) for e in extract(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    HEIGHT_WEIGHT + SHOES_AND_FEET + SIZES_AND_WAIST + ORDERS_PHONES_MONEY,
)
def test_extract_values(text: str, expected: Expected) -> None:
    assert _pairs(text) == expected


@pytest.mark.parametrize("text", NOT_MEASUREMENTS)
def test_non_measurements_give_no_height_or_weight(text: str) -> None:
    kinds = {e.kind for e in extract(text)}
    assert not kinds & {"height", "weight"}, extract(text)


def test_corpus_is_big_enough() -> None:
    assert len(set(ALL_LINES)) >= 100
    assert len(NOT_MEASUREMENTS) >= 20


@pytest.mark.parametrize("text", ALL_LINES)
def test_spans_point_into_original_text(text: str) -> None:
    entities = extract(text)
    for e in entities:
        assert text[e.start : e.end] == e.text
    for a, b in itertools.pairwise(entities):
        assert a.end <= b.start


def test_value_types() -> None:
    by_kind = {
        e.kind: e.value for e in extract("1米75 60.5kg 42码的鞋 ¥199 订单号 2345678901234567")
    }
    assert isinstance(by_kind["height"], int)
    assert by_kind["weight"] == 121 and isinstance(by_kind["weight"], int)
    assert isinstance(by_kind["money"], float)
    assert by_kind["order_id"] == "2345678901234567"
    assert extract("65.5斤")[0].value == 65.5


def test_entity_spans_exact() -> None:
    assert extract("身高170体重65") == [
        Entity("height", 170, "170", 2, 5),
        Entity("weight", 130, "65", 7, 9),
    ]
    (order,) = extract("查下[ORDERID_10005753]")
    assert (order.text, order.start, order.end) == ("[ORDERID_10005753]", 2, 20)
    (phone,) = extract("打+86 138-1234-5678")
    assert phone.text == "+86 138-1234-5678" and phone.value == "13812345678"


def test_slots_from_last_mention_wins() -> None:
    entities = extract("我170 130斤 穿L 不对 身高172 体重68kg 穿XL 订单号 2345678901234567")
    assert slots_from(entities) == {
        "height": 172,
        "weight": 136,
        "size": "XL",
        "order_id": "2345678901234567",
    }
    assert slots_from([]) == {}


def test_slots_from_accepts_any_sequence() -> None:
    entities = tuple(extract("一米六 九十斤 38码的鞋"))
    assert slots_from(entities) == {"height": 160, "weight": 90, "shoe_size": 38}


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("电话13812345678", "电话138****5678"),
        ("打 138-1234-5678 谢谢", "打 138-****-5678 谢谢"),
        ("+86 13912345678", "+86 139****5678"),
        ("１３８１２３４５６７８", "１３８****５６７８"),
        ("订单号 2345678901234567 没到", "订单号 ************4567 没到"),
        ("[ORDERID_10005753] 查一下", "[ORDERID_****5753] 查一下"),
        ("[订单x] 查一下", "[订单x] 查一下"),
        ("我170 130斤 ¥199", "我170 130斤 ¥199"),
        ("", ""),
    ],
)
def test_mask_pii(text: str, masked: str) -> None:
    assert mask_pii(text) == masked


def test_mask_pii_leaves_no_full_identifier() -> None:
    text = (
        "订单号 2345678901234567，电话 13812345678，备用 186 1234 5678，"
        "另一单 123456789012，[ORDERID_10005753]"
    )
    out = mask_pii(text)
    assert len(out) == len(text)
    for secret in ("2345678901234567", "13812345678", "18612345678", "123456789012", "10005753"):
        assert secret not in out
    assert not re.search(r"1[3-9]\d{9}", re.sub(r"[\s-]", "", out))
    assert not re.search(r"\d{10,}", out)


def test_mask_pii_masks_exactly_what_full_extraction_finds() -> None:
    """mask_pii runs only the order/phone stage; on every table line and junk string it
    masks the same characters as masking every order and phone of a full extract()."""

    def reference(text: str) -> str:
        chars = list(text)
        for e in extract(text):
            positions = [i for i in range(e.start, e.end) if chars[i].isdigit()]
            for n, i in enumerate(positions):
                hide = ((e.kind == "phone" and len(positions) - 8 <= n < len(positions) - 4)
                        or (e.kind == "order_id" and n < len(positions) - 4))
                if hide:
                    chars[i] = "*"
        return "".join(chars)

    lines = [*ALL_LINES, *_random_strings(300), "订单号 2345678901234567 电话13812345678 170"]
    assert sum(mask_pii(t) != t for t in lines) >= 10
    for text in lines:
        assert mask_pii(text) == reference(text), text


def _random_strings(n: int, seed: int = 20241120) -> list[str]:
    rng = random.Random(seed)
    alphabet = (
        "0123456789 ./-+:，,、一二三四五六七八九十百千万两米斤公分厘kgcmKGxXlLsSmM码鞋脚长"
        "腰围尺寸身高体重元块¥$[]订单号ORDERID_个子的多来几１７０ＸＬ體碼😀\x00\xff"
    )
    out = []
    for i in range(n):
        size = rng.randint(0, 80)
        if i % 3 == 0:  # arbitrary code points, including lone surrogates
            out.append("".join(chr(rng.randint(0, 0x10FFFF)) for _ in range(size)))
        elif i % 3 == 1:  # bytes decoded as latin-1: binary junk
            out.append(bytes(rng.randint(0, 255) for _ in range(size)).decode("latin-1"))
        else:  # dense mix of the characters the rules look for
            out.append("".join(rng.choice(alphabet) for _ in range(size)))
    return out


def test_never_raises_on_random_input(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="intents.entities")
    for text in _random_strings(500):
        entities = extract(text)
        for e in entities:
            assert text[e.start : e.end] == e.text
        mask_pii(text)
        slots_from(entities)
    assert not caplog.records, "a rule raised and was swallowed"


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "\x00\xff",
        "😀😀👍🙏",
        "\ud800",
        "？？？",
        "[",
        "[订单",
        "1" * 5000,
        "亲 我一米七五 一百四十斤穿多大 " * 300,
        "1" + " " * 4990 + "米",
        "身高" * 2500,
    ],
)
def test_odd_inputs(text: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="intents.entities")
    start = time.perf_counter()
    extract(text)
    mask_pii(text)
    assert time.perf_counter() - start < 1.0
    assert not caplog.records


def test_throughput_smoke() -> None:
    """Loose guard against a pathological regex; the real figure is ~35k calls/s."""
    lines = ALL_LINES[:40]
    start = time.perf_counter()
    for i in range(4000):
        extract(lines[i % len(lines)])
    assert 4000 / (time.perf_counter() - start) > 4000
