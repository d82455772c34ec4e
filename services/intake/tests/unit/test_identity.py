import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.intake.domain.errors import DomainValidationError
from services.intake.domain.identity import (
    IdentityKey,
    KeyKind,
    identity_keys,
    normalise_email,
    normalise_phone,
    resolve_identity,
)

E164 = "+8613800138000"


@pytest.mark.parametrize(
    "raw",
    [
        "138 0013 8000",
        "+86-138-0013-8000",
        "0086 13800138000",
        "(+86)13800138000",
        "13800138000",
        "+86 138 0013 8000",
        "８６１３８００１３８０００",  # full-width digits
        " 138-0013-8000 ",
        "+8613800138000",
    ],
)
def test_mainland_spellings_normalise_to_e164(raw):
    assert normalise_phone(raw) == E164


def test_landline_and_foreign_numbers():
    assert normalise_phone("010-12345678") == "+861012345678"
    assert normalise_phone("+852 2123 4567") == "+85221234567"
    assert normalise_phone("(212) 555-0100", default_region="US") == "+12125550100"


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "12345", "1380013800O", "abc", "13800138000 ext 12", "13800138000转8001",
     "99999999999", "++8613800138000", "1" * 41, "138001380000000"],
)
def test_invalid_phones_raise_naming_the_field(raw):
    with pytest.raises(DomainValidationError) as info:
        normalise_phone(raw)
    assert info.value.field == "phone"
    assert str(info.value).startswith("phone: ")


def test_custom_field_name_in_error():
    with pytest.raises(DomainValidationError) as info:
        normalise_phone("1", field="referrer_phone")
    assert info.value.field == "referrer_phone"


def test_non_string_phone_rejected():
    with pytest.raises(DomainValidationError):
        normalise_phone(13800138000)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Zhang.San@Example.COM ", "zhang.san@example.com"),
        ("li+crm@qq.com", "li+crm@qq.com"),
        ("wang@例子.中国", "wang@xn--fsqu00a.xn--fiqs8s"),
        ("王@example.cn", "王@example.cn"),
    ],
)
def test_email_normalisation(raw, expected):
    assert normalise_email(raw) == expected
    assert normalise_email(expected) == expected  # idempotent


@pytest.mark.parametrize(
    "raw",
    ["", "zhang.at.example.com", "li@", "@qq.com", "wang@@163.com", "a b@x.com", "a..b@x.com",
     ".a@x.com", "a@localhost", "a@x.c", "a@-x.com", "a@x.123", "x" * 65 + "@x.com",
     "a@" + "b" * 250 + ".com"],
)
def test_invalid_emails_raise_naming_the_field(raw):
    with pytest.raises(DomainValidationError) as info:
        normalise_email(raw)
    assert info.value.field == "email"


def test_identity_keys_phone_first_and_normalised():
    keys = identity_keys("138 0013 8000", "A@B.CN")
    assert keys == (IdentityKey(KeyKind.PHONE, E164), IdentityKey(KeyKind.EMAIL, "a@b.cn"))
    assert [str(k) for k in keys] == ["phone:+8613800138000", "email:a@b.cn"]
    assert identity_keys(None, None) == ()
    assert identity_keys(None, "a@b.cn") == (IdentityKey(KeyKind.EMAIL, "a@b.cn"),)


def test_three_spellings_give_one_key():
    spellings = ["138 0013 8000", "+86-138-0013-8000", "0086 13800138000"]
    assert len({identity_keys(s, None) for s in spellings}) == 1


class TestResolve:
    X, Y = uuid.uuid4(), uuid.uuid4()
    PHONE = IdentityKey(KeyKind.PHONE, E164)
    EMAIL = IdentityKey(KeyKind.EMAIL, "a@b.cn")

    def test_new_customer_claims_all_keys(self):
        r = resolve_identity([self.PHONE, self.EMAIL], {})
        assert r.is_new_customer and r.customer_id is None and r.matched_by is None
        assert r.keys_to_claim == (self.PHONE, self.EMAIL)
        assert not r.has_conflict

    def test_phone_match(self):
        r = resolve_identity([self.PHONE, self.EMAIL], {self.PHONE: self.X})
        assert r.customer_id == self.X and r.matched_by is KeyKind.PHONE
        assert r.keys_to_claim == (self.EMAIL,)

    def test_email_match(self):
        r = resolve_identity([self.PHONE, self.EMAIL], {self.EMAIL: self.Y})
        assert r.customer_id == self.Y and r.matched_by is KeyKind.EMAIL
        assert r.keys_to_claim == (self.PHONE,)

    def test_both_match_same_customer(self):
        r = resolve_identity([self.PHONE, self.EMAIL], {self.PHONE: self.X, self.EMAIL: self.X})
        assert r.customer_id == self.X and r.keys_to_claim == () and not r.has_conflict

    def test_conflict_phone_wins_and_flags_merge(self):
        r = resolve_identity([self.PHONE, self.EMAIL], {self.PHONE: self.X, self.EMAIL: self.Y})
        assert r.customer_id == self.X
        assert r.merge_candidate == self.Y and r.has_conflict
        assert r.keys_to_claim == ()  # the email stays with Y until a merge


mainland_mobiles = st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from(["130", "131", "135", "136", "137", "138", "139", "150", "151", "158", "159",
                     "176", "177", "180", "181", "186", "187", "188", "189", "199"]),
    st.text(alphabet="0123456789", min_size=8, max_size=8),
)


def _spell(number: str, style: int) -> str:
    a, b, c = number[:3], number[3:7], number[7:]
    return [
        number,
        f"{a} {b} {c}",
        f"+86-{a}-{b}-{c}",
        f"0086 {number}",
        f"(+86){number}",
        f"+86 {number}",
        f"{a}-{b}-{c}",
        f"{a}.{b}.{c}",
        number.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
    ][style]


@given(mainland_mobiles, st.integers(min_value=0, max_value=8), st.integers(min_value=0, max_value=8))
def test_property_phone_normalisation_is_spelling_insensitive_and_idempotent(number, s1, s2):
    first = normalise_phone(_spell(number, s1))
    assert first == "+86" + number
    assert normalise_phone(_spell(number, s2)) == first
    assert normalise_phone(first) == first


@given(st.text(max_size=30))
def test_property_phone_normalisation_never_crashes(raw):
    try:
        result = normalise_phone(raw)
    except DomainValidationError as exc:
        assert exc.field == "phone"
    else:
        assert result.startswith("+") and normalise_phone(result) == result
