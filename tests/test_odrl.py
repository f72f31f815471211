"""ODRL usage-policy evaluation: allow only what a policy grants for text and data mining, fail closed."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.dsp.odrl import PolicyDecision, UsageContext, evaluate, normalize_policy, policy_difference

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
US = "urn:example:jaif"  # our participant id
OTHER = "urn:example:someone-else"
CONTEXT = UsageContext(participant_id=US, now=NOW)
DSP_EXAMPLES = Path(__file__).parents[2] / "shared" / "dsp-2025-1"

# Constraints whose truth is known under CONTEXT, the blocks of the three-valued logic tests.
TRUE = {"leftOperand": "spatial", "operator": "eq", "rightOperand": "EU"}
FALSE = {"leftOperand": "spatial", "operator": "eq", "rightOperand": "US"}
UNKNOWN = {"leftOperand": "partner", "operator": "eq", "rightOperand": "gold"}


def offer(*permissions: dict[str, Any], **policy: Any) -> dict[str, Any]:
    """An Offer in the compacted DSP form, with the given permissions and other policy properties."""
    return {"@id": "urn:uuid:offer-1", "@type": "Offer", "permission": list(permissions), **policy}


def permit(action: Any = "use", *constraints: dict[str, Any], **rule: Any) -> dict[str, Any]:
    permission: dict[str, Any] = {"action": action, **rule}
    if constraints:
        permission["constraint"] = list(constraints)
    return permission


def judged(policy: Any, context: UsageContext = CONTEXT) -> PolicyDecision:
    decision = evaluate(policy, context)
    assert decision.reason and "\n" not in decision.reason
    assert decision.allowed is (decision.result == "allow")
    return decision


# --- actions ------------------------------------------------------------------------------------


def test_plain_use_is_allowed_with_its_reason_and_policy_id():
    decision = judged(offer(permit("use")))
    assert decision == PolicyDecision("allow", "permission use (no constraints)", "urn:uuid:offer-1")
    assert decision.allowed


@pytest.mark.parametrize(
    "action",
    [
        "tdm:mine",
        "http://www.w3.org/ns/tdmrep#mine",
        "https://www.w3.org/ns/tdmrep#mine",
        {"@id": "tdm:mine"},
    ],
)
def test_tdm_mine_permission_covers_our_mining(action):
    assert judged(offer(permit(action))).result == "allow"


@pytest.mark.parametrize(
    "action", ["use", "odrl:use", "http://www.w3.org/ns/odrl/2/use", {"@id": "odrl:use"}]
)
def test_use_in_every_spelling_covers_our_mining(action):
    assert judged(offer(permit(action))).result == "allow"


def test_read_only_does_not_cover_mining():
    decision = judged(offer(permit("read"), permit("display")))
    assert decision.result == "deny"
    assert decision.reason == "no permission covers tdm:mine (permitted: display, read)"


def test_a_known_action_counts_when_the_context_does_it():
    context = UsageContext(participant_id=US, actions=("read",), now=NOW)
    assert judged(offer(permit("read")), context).result == "allow"


def test_every_action_of_ours_needs_a_permission():
    context = UsageContext(participant_id=US, actions=("tdm:mine", "reproduce"), now=NOW)
    assert judged(offer(permit("tdm:mine"), permit("reproduce")), context).result == "allow"
    decision = judged(offer(permit("tdm:mine")), context)
    assert decision.result == "deny"
    assert "reproduce" in decision.reason


def test_an_unknown_permission_action_grants_nothing_but_is_not_a_denial():
    decision = judged(offer(permit("ex:foo")))
    assert decision.result == "unknown"
    assert decision.reason == "permission ex:foo: action not understood"
    assert judged(offer(permit("ex:foo"), permit("use"))).result == "allow"
    assert judged(offer(permit("ex:foo", FALSE))).result == "deny"
    assert judged(offer(permit("ex:foo", assignee=OTHER))).result == "deny"


def test_a_context_without_actions_is_unknown():
    context = UsageContext(participant_id=US, actions=(), now=NOW)
    assert judged(offer(permit("use")), context).result == "unknown"


# --- prohibitions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "action", ["use", "tdm:mine", "odrl:use", {"@id": "http://www.w3.org/ns/tdmrep#mine"}]
)
def test_a_prohibition_covering_mining_denies(action):
    decision = judged(offer(permit("use"), prohibition=[{"action": action}]))
    assert decision.result == "deny"
    assert decision.reason.startswith("prohibited: tdm:mine (prohibition ")


def test_a_prohibition_of_another_known_action_is_irrelevant():
    assert judged(offer(permit("use"), prohibition=[{"action": "distribute"}])).result == "allow"


def test_a_prohibition_of_an_unknown_action_might_cover_us():
    decision = judged(offer(permit("use"), prohibition=[{"action": "ex:foo"}]))
    assert decision.result == "unknown"
    assert "ex:foo" in decision.reason


def test_prohibition_constraints_decide_whether_it_binds():
    marketing = {"leftOperand": "purpose", "operator": "eq", "rightOperand": "marketing"}
    ours = {"leftOperand": "purpose", "operator": "isAnyOf", "rightOperand": ["ai-training", "tdm"]}
    assert judged(offer(permit("use"), prohibition=[permit("use", marketing)])).result == "allow"
    assert judged(offer(permit("use"), prohibition=[permit("use", ours)])).result == "deny"
    assert judged(offer(permit("use"), prohibition=[permit("use", UNKNOWN)])).result == "unknown"


def test_a_prohibition_assigned_to_someone_else_does_not_bind_us():
    policy = offer(permit("use"), prohibition=[{"action": "use", "assignee": OTHER}])
    assert judged(policy).result == "allow"
    assert judged(offer(permit("use"), prohibition=[{"action": "use", "assignee": US}])).result == "deny"


def test_a_denied_permission_is_not_softened_by_an_unknown_prohibition():
    decision = judged(offer(permit("read"), prohibition=[{"action": "ex:foo"}]))
    assert decision.result == "deny"


# --- constraints ---------------------------------------------------------------------------------


def test_an_unknown_left_operand_is_unknown_like_the_dsp_partner_example():
    decision = judged(offer(permit("use", UNKNOWN)))
    assert decision.result == "unknown"
    assert decision.reason == "permission use: constraint leftOperand 'partner' not understood"


@pytest.mark.parametrize(
    "left", ["count", "payAmount", "industry", "event", "elapsedTime", "odrl:deliveryChannel"]
)
def test_other_left_operands_are_unknown(left):
    decision = judged(offer(permit("use", {"leftOperand": left, "operator": "eq", "rightOperand": "x"})))
    assert decision.result == "unknown"
    assert "not understood" in decision.reason


@pytest.mark.parametrize(
    ("operator", "right", "result"),
    [
        ("isAnyOf", ["ai-training", "tdm", "research"], "allow"),
        ("isAnyOf", ["http://example.org/AI_Training", "odrl:TDM"], "allow"),
        ("eq", "http://example.org/marketing", "deny"),
        ("eq", "ai-training", "allow"),  # our purpose under one of its names
        ("isA", {"@id": "ex:ai-training"}, "allow"),
        ("isPartOf", [{"@value": "ai-training"}, {"@value": "tdm"}], "allow"),
        ("neq", "http://example.org/marketing", "allow"),
        ("isNoneOf", ["marketing", "profiling"], "allow"),
        ("isNoneOf", ["tdm"], "deny"),
        ("hasPart", "ai-training", "unknown"),
    ],
)
def test_purpose_constraints(operator, right, result):
    constraint = {"leftOperand": "purpose", "operator": operator, "rightOperand": right}
    assert judged(offer(permit("use", constraint))).result == result


def test_a_single_purpose_context_meets_an_eq_purpose():
    context = UsageContext(participant_id=US, purposes=("ai-training",), now=NOW)
    constraint = {
        "leftOperand": "purpose",
        "operator": "eq",
        "rightOperand": "https://example.org/ai-training",
    }
    assert judged(offer(permit("use", constraint)), context).result == "allow"


def test_an_unmet_purpose_is_named_in_the_reason():
    constraint = {"leftOperand": "purpose", "operator": "isAnyOf", "rightOperand": ["marketing", "ads"]}
    decision = judged(offer(permit("use", constraint)))
    assert decision.reason == "permission use: constraint purpose isAnyOf [marketing, ads] not met"


@pytest.mark.parametrize(
    ("operator", "right", "result"),
    [
        ("eq", "EU", "allow"),
        ("eq", "http://example.org/EU", "allow"),
        ("eq", "_:EU", "allow"),
        ("eq", "https://www.wikidata.org/wiki/Q458", "allow"),
        ("isPartOf", "eea", "allow"),
        ("isAnyOf", ["US", "DE"], "allow"),
        ("eq", "US", "deny"),
        ("isAnyOf", ["US", "CN"], "deny"),
        ("neq", "US", "allow"),
        ("isNoneOf", ["http://example.org/EU"], "deny"),
        ("lt", "EU", "unknown"),
    ],
)
def test_spatial_constraints(operator, right, result):
    constraint = {"leftOperand": "spatial", "operator": operator, "rightOperand": right}
    assert judged(offer(permit("use", constraint))).result == result


def test_spatial_coordinates_are_unknown():
    constraint = {"leftOperand": "spatialCoordinates", "operator": "eq", "rightOperand": "50.9,6.4"}
    assert judged(offer(permit("use", constraint))).result == "unknown"


@pytest.mark.parametrize(
    ("operator", "right", "result"),
    [
        ("lteq", "2023-12-31T06:00Z", "deny"),
        ("lt", "2027-01-01", "allow"),
        ("gteq", "2023-12-31T06:00Z", "allow"),
        ("gt", "2026-03-01T12:00:01Z", "deny"),
        ("gt", "2026-03-01T13:00:00+02:00", "allow"),  # 11:00 UTC
        ("lteq", {"@value": "2026-12-31T23:59:59Z", "@type": "xsd:dateTime"}, "allow"),
        ("eq", "2026-03-01T12:00:00Z", "allow"),
        ("neq", "2026-03-01T12:00:00Z", "deny"),
        ("lt", "next tuesday", "unknown"),
        ("lt", 20270101, "unknown"),
        ("isA", "2027-01-01", "unknown"),
    ],
)
def test_date_time_constraints(operator, right, result):
    constraint = {"leftOperand": "dateTime", "operator": operator, "rightOperand": right}
    assert judged(offer(permit("use", constraint))).result == result


def test_an_expired_policy_says_when_it_was_judged():
    constraint = {"leftOperand": "dateTime", "operator": "lteq", "rightOperand": "2023-12-31T06:00Z"}
    decision = judged(offer(permit("use", constraint)))
    assert decision.result == "deny"
    assert "dateTime lteq 2023-12-31T06:00Z not met" in decision.reason


def test_a_naive_now_is_utc():
    constraint = {"leftOperand": "dateTime", "operator": "lt", "rightOperand": "2026-03-01T12:30:00Z"}
    context = UsageContext(participant_id=US, now=datetime(2026, 3, 1, 12, 0))
    assert judged(offer(permit("use", constraint)), context).result == "allow"


def test_the_default_now_is_the_present():
    past = {"leftOperand": "dateTime", "operator": "gt", "rightOperand": "2020-01-01"}
    future = {"leftOperand": "dateTime", "operator": "gt", "rightOperand": "9999-01-01"}
    context = UsageContext(participant_id=US)
    assert judged(offer(permit("use", past)), context).result == "allow"
    assert judged(offer(permit("use", future)), context).result == "deny"


@pytest.mark.parametrize(
    ("constraint", "result"),
    [
        ({"and": [TRUE, TRUE]}, "allow"),
        ({"and": [TRUE, FALSE]}, "deny"),
        ({"and": [TRUE, UNKNOWN]}, "unknown"),
        ({"and": [UNKNOWN, FALSE]}, "deny"),
        ({"andSequence": [TRUE, TRUE]}, "allow"),
        ({"andSequence": [UNKNOWN, TRUE]}, "unknown"),
        ({"or": [FALSE, TRUE]}, "allow"),
        ({"or": [UNKNOWN, TRUE]}, "allow"),
        ({"or": [FALSE, UNKNOWN]}, "unknown"),
        ({"or": [FALSE, FALSE]}, "deny"),
        ({"xone": [TRUE, FALSE]}, "allow"),
        ({"xone": [TRUE, TRUE]}, "deny"),
        ({"xone": [FALSE, FALSE]}, "deny"),
        ({"xone": [TRUE, UNKNOWN]}, "unknown"),
        ({"or": [{"and": [TRUE, TRUE]}, UNKNOWN]}, "allow"),
        ({"or": [{"and": [TRUE, FALSE]}, UNKNOWN]}, "unknown"),
        ({"and": [{"or": [FALSE, TRUE]}, {"xone": [FALSE, TRUE]}]}, "allow"),
        ({"odrl:or": {"@list": [FALSE, {"odrl:and": [TRUE, FALSE]}]}}, "deny"),
    ],
)
def test_logical_constraints_in_three_valued_logic(constraint, result):
    assert judged(offer(permit("use", constraint))).result == result


def test_a_rules_constraint_list_is_a_conjunction():
    assert judged(offer(permit("use", TRUE, TRUE))).result == "allow"
    assert judged(offer(permit("use", TRUE, FALSE))).result == "deny"
    assert judged(offer(permit("use", TRUE, UNKNOWN))).result == "unknown"
    assert judged(offer(permit("use", FALSE, UNKNOWN))).result == "deny"


def test_one_granting_permission_is_enough():
    assert judged(offer(permit("use", FALSE), permit("use", UNKNOWN), permit("use", TRUE))).result == "allow"
    decision = judged(offer(permit("use", FALSE), permit("use", UNKNOWN)))
    assert decision.result == "unknown"
    assert "partner" in decision.reason


def test_an_unresolved_right_operand_reference_is_unknown():
    constraint = {
        "leftOperand": "spatial",
        "operator": "eq",
        "rightOperandReference": "http://example.org/where",
    }
    assert judged(offer(permit("use", constraint))).result == "unknown"


# --- duties and obligations ----------------------------------------------------------------------


def test_a_duty_to_compensate_needs_a_person():
    decision = judged(offer(permit("use", duty=[{"action": "compensate"}])))
    assert decision.result == "deny"
    assert decision.reason == "permission use requires duty 'compensate', which needs a person"


@pytest.mark.parametrize(
    "action", ["obtainConsent", "odrl:inform", "delete", "anonymize", "pay", "nextPolicy"]
)
def test_duties_that_need_a_person_deny(action):
    assert judged(offer(permit("use", duty={"action": action}))).result == "deny"


@pytest.mark.parametrize("action", ["attribute", "odrl:attribute", {"@id": "attribution"}])
def test_attribution_is_fulfilled_automatically(action):
    decision = judged(offer(permit("use", duty=[{"action": action}])))
    assert decision.result == "allow"
    assert "duty" in decision.reason


def test_an_unknown_duty_is_unknown():
    decision = judged(offer(permit("use", duty=[{"action": "ex:sendPostcard"}])))
    assert decision.result == "unknown"
    assert "ex:sendPostcard" in decision.reason


def test_a_duty_whose_constraint_is_false_does_not_bind():
    duty = {"action": "compensate", "constraint": [FALSE]}
    assert judged(offer(permit("use", duty=[duty]))).result == "allow"
    assert judged(offer(permit("use", duty=[{"action": "compensate", "constraint": [UNKNOWN]}]))).result == (
        "unknown"
    )


def test_a_duty_of_another_party_does_not_bind_us():
    assert judged(offer(permit("use", duty=[{"action": "compensate", "assignee": OTHER}]))).result == "allow"


def test_attribution_with_refinements_cannot_be_promised():
    duty = {"action": {"action": "attribute", "refinement": [UNKNOWN]}}
    assert judged(offer(permit("use", duty=[duty]))).result == "unknown"


@pytest.mark.parametrize(
    ("obligation", "result"),
    [
        ({"action": "obtainConsent"}, "deny"),
        ({"action": "attribute"}, "allow"),
        ({"action": "ex:foo"}, "unknown"),
        ({"action": "compensate", "constraint": [FALSE]}, "allow"),
    ],
)
def test_policy_obligations(obligation, result):
    assert judged(offer(permit("use"), obligation=[obligation])).result == result


def test_an_obligation_needing_a_person_overrides_an_unknown_permission():
    assert judged(offer(permit("use", UNKNOWN), obligation={"action": "obtainConsent"})).result == "deny"


# --- parties -------------------------------------------------------------------------------------


def test_a_policy_assigned_to_someone_else_grants_us_nothing():
    decision = judged(offer(permit("use"), assignee=OTHER))
    assert decision.result == "deny"
    assert OTHER in decision.reason and US in decision.reason


@pytest.mark.parametrize("assignee", [US, {"@id": US}, [OTHER, US]])
def test_a_policy_assigned_to_us_is_allowed(assignee):
    assert judged(offer(permit("use"), assignee=assignee)).result == "allow"


def test_a_rule_assignee_overrides_the_policy_assignee():
    assert judged(offer(permit("use", assignee=OTHER), assignee=US)).result == "deny"
    assert judged(offer(permit("use", assignee=US), assignee=OTHER)).result == "allow"
    assert judged(offer(permit("use", assignee=OTHER), permit("use", assignee=US))).result == "allow"


def test_an_assignee_without_our_participant_id_is_unknown():
    context = UsageContext(participant_id=None, now=NOW)
    assert judged(offer(permit("use"), assignee=US), context).result == "unknown"
    assert judged(offer(permit("use")), context).result == "allow"


def test_an_unreadable_assignee_is_unknown():
    party = {"@type": "PartyCollection", "refinement": [UNKNOWN]}
    assert judged(offer(permit("use", assignee=party))).result == "unknown"


@pytest.mark.parametrize(
    ("left", "operator", "right", "result"),
    [
        ("assignee", "eq", US, "allow"),
        ("recipient", "isAnyOf", [OTHER, US], "allow"),
        ("assignee", "eq", OTHER, "deny"),
        ("recipient", "neq", OTHER, "allow"),
        ("assignee", "isNoneOf", [US], "deny"),
    ],
)
def test_party_constraints(left, operator, right, result):
    constraint = {"leftOperand": left, "operator": operator, "rightOperand": right}
    assert judged(offer(permit("use", constraint))).result == result


# --- encodings -----------------------------------------------------------------------------------


def test_prefixed_keys_and_wrapped_values():
    policy = {
        "@id": "urn:uuid:p",
        "@type": "odrl:Offer",
        "odrl:permission": {
            "odrl:action": {"@id": "odrl:use"},
            "odrl:constraint": {
                "odrl:leftOperand": {"@id": "odrl:spatial"},
                "odrl:operator": {"@id": "odrl:eq"},
                "odrl:rightOperand": {"@value": "EU"},
            },
        },
    }
    assert judged(policy) == PolicyDecision("allow", "permission use (spatial eq EU)", "urn:uuid:p")


def test_expanded_iris():
    odrl = "http://www.w3.org/ns/odrl/2/"
    policy = {
        "@id": "urn:uuid:p",
        "@type": [f"{odrl}Set"],
        f"{odrl}permission": [
            {
                f"{odrl}action": [{"@id": f"{odrl}use"}],
                f"{odrl}constraint": [
                    {
                        f"{odrl}leftOperand": [{"@id": f"{odrl}purpose"}],
                        f"{odrl}operator": [{"@id": f"{odrl}isAnyOf"}],
                        f"{odrl}rightOperand": [{"@value": "ai-training"}, {"@value": "tdm"}],
                    }
                ],
            }
        ],
        f"{odrl}prohibition": [{f"{odrl}action": [{"@id": f"{odrl}distribute"}]}],
    }
    assert judged(policy).result == "allow"


@pytest.mark.parametrize(
    ("refinement", "result"),
    [(TRUE, "allow"), (FALSE, "deny"), (UNKNOWN, "unknown")],
)
def test_action_refinements_are_constraints(refinement, result):
    rdf_value = {"rdf:value": {"@id": "odrl:use"}, "refinement": [refinement]}
    short = {"action": "use", "refinement": refinement}
    assert judged(offer(permit(rdf_value))).result == result
    assert judged(offer(permit(short))).result == result


def test_a_single_permission_object_is_a_list_of_one():
    assert judged({"@type": "Agreement", "permission": {"action": "use"}}).result == "allow"


def test_policy_annotations_are_harmless_but_extensions_are_unknown():
    annotated = offer(permit("use"), **{"dct:title": "Corpus", "conflict": "perm", "profile": "urn:p"})
    assert judged(annotated).result == "allow"
    for extension in ({"constraint": [FALSE]}, {"odrl:action": "read"}, {"ex:embargo": "2030"}):
        decision = judged(offer(permit("use"), **extension))
        assert decision.result == "unknown"
        assert decision.reason.startswith("policy has property")


def test_rule_annotations_are_harmless_but_extensions_are_unknown():
    annotated = permit("use", **{"@type": "Permission", "dct:description": "for research", "target": "urn:x"})
    assert judged(offer(annotated)).result == "allow"
    extended = permit("use", **{"ex:onlyOnTuesdays": True})
    decision = judged(offer(extended))
    assert decision.result == "unknown"
    assert "ex:onlyOnTuesdays" in decision.reason


# --- malformed input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "policy",
    [
        [permit("use")],
        None,
        "use",
        {"@type": "Dataset", "permission": [permit("use")]},
        offer("use"),
        offer({"constraint": [TRUE]}),
        offer(permit("use", {"leftOperand": "spatial", "rightOperand": "EU"})),
        offer(permit("use", {"leftOperand": "spatial", "operator": "eq"})),
        offer(
            permit("use", {"and": [TRUE], "leftOperand": "spatial", "operator": "eq", "rightOperand": "EU"})
        ),
        offer(permit("use", {"leftOperand": 7, "operator": "eq", "rightOperand": "EU"})),
        offer(permit("use", "urn:constraint:elsewhere")),
        offer(permit("use", 42)),
        offer(permit({"refinement": [TRUE]})),
        offer(permit(17)),
        offer(permit("use", duty=["compensate"])),
        offer(permit("use"), inheritFrom="urn:policy:parent"),
        {"@graph": [offer(permit("use"))]},
        {"@type": {"@id": {"odd": "type"}}, "permission": [permit("use")]},
    ],
)
def test_malformed_policies_are_never_allowed_and_never_raise(policy):
    decision = judged(policy)
    assert decision.result == "unknown"


def random_json(rng: random.Random, depth: int = 0) -> Any:
    """JSON built from ODRL terms at random: policies no provider should send, but one might."""
    terms = ["permission", "prohibition", "obligation", "action", "constraint", "leftOperand", "operator"]
    terms += ["rightOperand", "and", "or", "xone", "duty", "assignee", "refinement", "@id", "@value", "@list"]
    terms += ["@type", "rdf:value", "odrl:action", "target"]
    atoms = ["use", "tdm:mine", "read", "ex:foo", "purpose", "spatial", "dateTime", "eq", "isAnyOf", "EU"]
    atoms += ["2024-01-01", "compensate", "attribute", US, None, 1, True, [], {}]
    roll = rng.random()
    if depth > 4 or roll < 0.3:
        return rng.choice(atoms)
    if roll < 0.5:
        return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(terms): random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def test_random_structures_never_raise():
    rng = random.Random(20260301)
    for _ in range(3000):
        policy = {"permission": random_json(rng, 1), "prohibition": random_json(rng, 1)}
        for candidate in (policy, random_json(rng)):
            judged(candidate)
            policy_difference(candidate, candidate)


def test_a_constraint_without_operator_is_reported_as_malformed():
    decision = judged(offer(permit("use", {"leftOperand": "spatial", "rightOperand": "EU"})))
    assert decision.reason.startswith("malformed policy:")
    assert "operator" in decision.reason


@pytest.mark.parametrize("policy", [{}, offer(), offer(prohibition=[{"action": "use"}])])
def test_a_policy_without_permission_denies(policy):
    decision = judged(policy)
    assert decision.result == "deny"
    assert decision.reason == "policy has no permission"


# --- policy_difference ---------------------------------------------------------------------------


def catalog_offer() -> dict[str, Any]:
    return {
        "@id": "urn:uuid:offer-1",
        "@type": "Offer",
        "target": "urn:uuid:dataset-1",
        "permission": [
            permit(
                "use", TRUE, {"leftOperand": "purpose", "operator": "isAnyOf", "rightOperand": ["tdm", "ai"]}
            ),
            permit("read"),
        ],
        "prohibition": [{"action": "distribute"}],
    }


def test_an_agreement_equal_to_the_offer_but_for_identity_parties_and_order_has_no_difference():
    agreement = {
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@id": "urn:uuid:agreement-9",
        "@type": "Agreement",
        "target": {"@id": "urn:uuid:dataset-1"},
        "timestamp": "2026-03-01T12:00:00Z",
        "assigner": "urn:example:provider",
        "assignee": US,
        "profile": "https://example.org/profile",
        "odrl:permission": [
            {"@id": "urn:rule:2", "action": {"@id": "odrl:read"}},
            {
                "@type": "Permission",
                "odrl:action": "http://www.w3.org/ns/odrl/2/use",
                "constraint": [
                    {"leftOperand": "purpose", "operator": "odrl:isAnyOf", "rightOperand": ["ai", "tdm"]},
                    {
                        "leftOperand": {"@id": "odrl:spatial"},
                        "operator": "eq",
                        "rightOperand": {"@value": "EU"},
                    },
                ],
            },
        ],
        "prohibition": {"action": "distribute"},
        "obligation": [],
    }
    assert policy_difference(catalog_offer(), agreement) is None
    assert normalize_policy(catalog_offer()) == normalize_policy(agreement)


def test_a_changed_constraint_value_is_a_permission_difference():
    agreement = catalog_offer()
    agreement["permission"][0]["constraint"][0] = {
        "leftOperand": "spatial",
        "operator": "eq",
        "rightOperand": "US",
    }
    assert policy_difference(catalog_offer(), agreement) == (
        "permission differs at permission[1].constraint[1].rightOperand: EU vs US"
    )


def test_a_changed_target_is_named():
    agreement = dict(catalog_offer(), target="urn:uuid:dataset-2")
    assert (
        policy_difference(catalog_offer(), agreement)
        == "target differs: urn:uuid:dataset-1 vs urn:uuid:dataset-2"
    )


def test_a_missing_target_is_named():
    agreement = dict(catalog_offer(), target={"@id": "urn:uuid:dataset-1", "@type": "Asset"})
    assert policy_difference(catalog_offer(), agreement) is None
    untargeted = {key: value for key, value in catalog_offer().items() if key != "target"}
    assert policy_difference(untargeted, catalog_offer()) == "target differs: (none) vs urn:uuid:dataset-1"


def test_a_changed_action_is_named():
    agreement = catalog_offer()
    agreement["permission"][1]["action"] = "print"
    assert (
        policy_difference(catalog_offer(), agreement)
        == "permission differs at permission[0].action: read vs print"
    )


def test_an_added_prohibition_or_obligation_is_a_difference():
    more = dict(catalog_offer(), prohibition=[{"action": "distribute"}, {"action": "sell"}])
    assert policy_difference(catalog_offer(), more) == "prohibition differs: the offer has 1, the agreement 2"
    fewer = dict(catalog_offer(), prohibition=[])
    assert (
        policy_difference(catalog_offer(), fewer) == "prohibition differs: the offer has 1, the agreement 0"
    )
    duty = dict(catalog_offer(), obligation=[{"action": "compensate"}])
    assert policy_difference(catalog_offer(), duty).startswith("obligation differs")


def test_an_and_sequence_keeps_its_order():
    first = offer(permit("use", {"andSequence": [TRUE, FALSE]}))
    second = offer(permit("use", {"andSequence": [FALSE, TRUE]}))
    assert policy_difference(first, second).startswith("permission differs")
    assert (
        policy_difference(
            offer(permit("use", {"and": [TRUE, FALSE]})), offer(permit("use", {"and": [FALSE, TRUE]}))
        )
        is None
    )


def test_a_malformed_side_is_a_difference_not_an_exception():
    assert policy_difference([], catalog_offer()).startswith("offer is malformed")
    assert policy_difference(catalog_offer(), offer(permit(17))).startswith("agreement is malformed")


def test_the_canonical_form():
    assert normalize_policy(offer(permit({"@id": "odrl:use"}, TRUE), target=["urn:t"])) == {
        "target": "urn:t",
        "permission": [
            {
                "action": "use",
                "constraint": [{"leftOperand": "spatial", "operator": "eq", "rightOperand": "EU"}],
            }
        ],
    }


# --- the DSP 2025-1 examples ---------------------------------------------------------------------


def example_policies() -> list[tuple[str, dict[str, Any]]]:
    """Every policy in the official example messages: catalog hasPolicy, negotiation offer and agreement."""
    found = []
    for path in sorted(
        [*DSP_EXAMPLES.glob("catalog/example/*.json"), *DSP_EXAMPLES.glob("negotiation/example/*.json")]
    ):
        message = json.loads(path.read_text())
        datasets = [item for item in message.get("dataset", []) if isinstance(item, dict)]
        policies = [policy for dataset in datasets for policy in dataset.get("hasPolicy", [])]
        policies += message.get("hasPolicy", [])
        policies += [message[key] for key in ("offer", "agreement") if key in message]
        found += [(path.name, policy) for policy in policies]
    return found


@pytest.fixture
def dsp_examples() -> Path:
    if not DSP_EXAMPLES.is_dir():
        pytest.skip(
            "../shared/dsp-2025-1 is absent (the DSP specification's examples live beside the project)"
        )
    return DSP_EXAMPLES


def test_every_dsp_example_policy_evaluates(dsp_examples):
    policies = example_policies()
    assert len(policies) >= 8
    for name, policy in policies:
        for context in (UsageContext(participant_id=None, now=NOW), CONTEXT):
            decision = evaluate(policy, context)
            assert decision.result in ("allow", "deny", "unknown"), name
        assert policy_difference(policy, policy) is None, name


def test_the_dsp_catalog_offer_for_the_eu_is_allowed(dsp_examples):
    catalog = json.loads((dsp_examples / "catalog/example/catalog.json").read_text())
    policy = catalog["dataset"][0]["hasPolicy"][0]
    decision = evaluate(policy, UsageContext(participant_id=None))
    assert decision.result == "allow"
    assert decision.policy_id == "urn:uuid:3dd1add8-4d2d-569e-d634-8394a8836a88"


@pytest.mark.parametrize("participant_id", [None, "http://example.com/Consumer"])
def test_the_dsp_agreement_has_expired(dsp_examples, participant_id):
    message = json.loads((dsp_examples / "negotiation/example/contract-agreement-message.json").read_text())
    decision = evaluate(message["agreement"], UsageContext(participant_id=participant_id, now=NOW))
    assert decision.result == "deny"
    assert "dateTime lteq 2023-12-31T06:00Z not met" in decision.reason


def test_the_dsp_agreement_was_valid_before_it_expired(dsp_examples):
    message = json.loads((dsp_examples / "negotiation/example/contract-agreement-message.json").read_text())
    before = UsageContext(participant_id="http://example.com/Consumer", now=datetime(2023, 6, 1, tzinfo=UTC))
    assert evaluate(message["agreement"], before).result == "allow"
    stranger = UsageContext(participant_id=OTHER, now=datetime(2023, 6, 1, tzinfo=UTC))
    assert evaluate(message["agreement"], stranger).result == "deny"


def test_the_full_dsp_agreement_with_partner_levels_is_unknown(dsp_examples):
    message = json.loads(
        (dsp_examples / "negotiation/example/contract-agreement-message-full.json").read_text()
    )
    decision = evaluate(
        message["agreement"], UsageContext(participant_id="http://example.com/Consumer", now=NOW)
    )
    assert decision.result == "unknown"
    assert "partner" in decision.reason
