"""Features, the classifier's numpy inference and the measuring helpers (intents/)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from intents.classifier import IntentClassifier, TrainingIntent, _blocks, keyword_scan
from intents.evaluate import (
    Example,
    bootstrap,
    evaluate,
    format_report,
    leaks,
    mean_interval,
    to_label,
)
from intents.features import features, model_text
from intents.normalize import normalize

TOY = [
    TrainingIntent("refund", ["我要退货", "怎么退款", "退款什么时候到账", "申请退货退款",
                              "不想要了 能退吗", "退货地址发我一下"], keywords=["退货"]),
    TrainingIntent("logistics", ["我的快递到哪了", "什么时候发货", "物流怎么不动了",
                                 "快递单号多少", "怎么还没到", "催一下发货"], keywords=["快递"]),
    TrainingIntent("presale", ["有货吗", "能便宜点吗", "包邮吗", "这个是纯棉的吗",
                               "有赠品吗", "什么时候补货"]),
]


def canon(text: str) -> str:
    return normalize(text).text


@pytest.fixture(scope="module")
def toy() -> IntentClassifier:
    return IntentClassifier.train(TOY, canon)


def test_features_come_in_a_character_and_a_word_block() -> None:
    chars, words = features("我要退货")
    assert {"我", "^我", "货$", "退货$", "<len:s>"} <= set(chars)
    assert all(not f.startswith(("w:", "b:")) for f in chars)
    assert "w:退货" in words and any(f.startswith("b:") for f in words)
    assert all(f.startswith(("w:", "b:")) for f in words)


def test_shop_noise_is_folded() -> None:
    # Upper-case tokens: they cannot clash with the lowered text around them.
    assert model_text("订单[订单x]的123456789号 https://x.cn/a 17.5") == "订单N的N号 U 9"
    assert features("")[0] == {"<empty>": 1} and not features("")[1]
    chars, _ = features("在吗？")
    assert "<q>" in chars


def test_training_examples_come_back_with_their_intent(toy: IntentClassifier) -> None:
    for intent in TOY:
        for example in intent.examples:
            assert toy.predict(canon(example)).intent == intent.name, example


def test_confidences_are_a_distribution_and_unseen_text_is_not_confident(
        toy: IntentClassifier) -> None:
    full = toy.predict(canon("退货"), top=10)
    assert len(full.ranking) == 3
    assert math.isclose(sum(s.confidence for s in full.ranking), 1.0, rel_tol=1e-9)
    assert [s.confidence for s in full.ranking] == sorted(
        (s.confidence for s in full.ranking), reverse=True)
    for strange in ("", "ⓧⓧ", "zzqqxx", "🙂" * 3, "[数字x]"):
        prediction = toy.predict(canon(strange))
        assert prediction.confidence < 0.9, strange


def test_inference_equals_the_dense_formula(toy: IntentClassifier) -> None:
    """The fast path (one table of idf·w and idf², a padded zero row, two sums) computes
    exactly softmax(Wx + b) with x the two L2-normalised TF-IDF blocks; checked against a
    plain dense version."""
    vocab = toy._vocab
    idf = np.sqrt(toy._table[:, -1])  # idf ≥ 1 for every known feature, 0 in the zero row
    weights = toy._table[:, :-1] / np.where(idf > 0, idf, 1.0)[:, None]
    bias = np.asarray(toy._bias)
    for text in ("我要退货 快递到哪了", "能便宜点吗？？", "完全没见过的句子", "退退退货货"):
        chars, words = _blocks(canon(text), toy._keyword_scan, toy._keyword_features)
        x = np.zeros(len(vocab) + 1)
        for block in (chars, words):
            part = np.zeros(len(vocab) + 1)
            for feat, count in block.items():
                if feat in vocab:
                    part[vocab[feat]] = (1 + math.log(count)) * idf[vocab[feat]]
            norm = np.linalg.norm(part)
            x += part / norm if norm else part
        logits = x @ weights + bias
        expected = np.exp(logits - logits.max())
        expected /= expected.sum()
        got = {s.intent: s.confidence for s in toy.predict(canon(text), top=10).ranking}
        for label, p in zip(toy.labels, expected, strict=True):
            assert got[label] == pytest.approx(p, rel=1e-9, abs=1e-12)


def test_training_is_deterministic() -> None:
    a = IntentClassifier.train(TOY, canon)
    b = IntentClassifier.train(TOY, canon)
    for text in ("我要退货", "快递呢", "包邮不"):
        assert a.predict(canon(text)) == b.predict(canon(text))


def test_evaluate_scores_and_reports_confusions() -> None:
    examples = [Example("1", "我要退货", "refund"), Example("2", "快递到哪了", "logistics"),
                Example("3", "谢谢", "other"), Example("4", "有货吗", "presale")]
    answers = {"我要退货": ("refund", 0.95), "快递到哪了": ("refund", 0.8),
               "谢谢": ("thanks", 0.99), "有货吗": ("presale", 0.5)}
    report = evaluate(examples, lambda text: answers[text], threshold=0.7)
    assert report.accuracy == 0.75
    assert report.confusion["logistics"]["refund"] == 1
    assert report.confident_precision == pytest.approx(2 / 3)  # 0.95 ✓, 0.8 ✗, 0.99 ✓
    assert report.confident_coverage == 0.75
    assert report.per_intent["refund"]["precision"] == 0.5
    text = format_report(report, show_errors=3)
    assert "logistics → refund: 1" in text and "快递到哪了" in text
    assert to_label("goodbye") == "other" and to_label("refund") == "refund"


def test_leaks_find_near_copies_of_evaluation_lines() -> None:
    examples = [Example("a", "请问这个什么时候能发货呢", "logistics")]
    found = leaks({"logistics": ["请问这个什么时候能发货", "我的快递到哪了"]}, examples)
    assert [f["example"] for f in found] == ["请问这个什么时候能发货"]


def test_bootstrap_intervals_bracket_the_figures() -> None:
    gold = [0, 1, 2, 3, 7, 7, 7, 5] * 30
    pred = [0, 1, 2, 7, 7, 7, 5, 5] * 30
    (acc_low, acc_high), (f1_low, f1_high) = bootstrap(gold, pred)
    assert acc_low < 0.75 < acc_high and acc_high - acc_low < 0.15
    assert 0.0 < f1_low < f1_high < 1.0
    assert bootstrap(gold, pred) == bootstrap(gold, pred)  # seeded: the same every run
    assert bootstrap(gold, gold) == ((1.0, 1.0), (1.0, 1.0))
    assert bootstrap([], []) == ((0.0, 0.0), (0.0, 0.0))
    right = [True] * 180 + [False] * 20  # a precision of 0.9 on 200 confident lines
    low, high = mean_interval(right)
    assert low < 0.9 < high and high - low < 0.1 and mean_interval([]) == (0.0, 0.0)


def test_variants_add_an_opener_and_a_taobao_form() -> None:
    from intents.augment import variants

    examples = ["你好，我要退货！", "这个 有 赠品 吗"]
    out = variants(examples, ["亲"], rate=1.0, seed=0)
    assert out[:2] == examples and len(set(out)) == len(out)
    assert "亲 这个 有 赠品 吗" in out
    # Taobao lines lose punctuation and the spaces that stand in for it
    assert any(v.startswith("这个有赠品吗") for v in out)
    assert any(v.startswith("你好我要退货") for v in out)
    assert variants(examples, ["亲"], rate=1.0, seed=0) == out  # deterministic


def test_keyword_scan_finds_what_one_search_per_intent_finds() -> None:
    """Keywords inside, overlapping or starting with other keywords all count, as if every
    intent's keywords were searched for separately."""
    keywords = {"refund": ["退货", "退"], "logistics": ["退货运费", "运费", "快递"],
                "presale": ["货"], "empty": [""], "none": []}
    scan, features = keyword_scan(keywords)
    assert scan is not None
    for text in ("我要退货运费谁出", "退", "快递到了吗", "运费险", "无关的话", "货货", ""):
        found = {f for m in scan.finditer(text) for f in features[m.group(1)]}
        expected = {f"<kw:{name}>" for name, words in keywords.items()
                    if any(w and w in text for w in words)}
        assert found == expected, text
    assert keyword_scan({"a": [], "b": [""]}) == (None, {})
