"""ODRL usage-policy evaluation for Dataspace Protocol 2025-1 offers and agreements, failing closed.

A provider attaches an ODRL policy to every dataset it offers and to every contract agreement.
Before this pipeline mines a dataset for AI training, :func:`evaluate` judges the policy against
a :class:`UsageContext` (who we are, what we do, why, where and when) and answers ``allow``,
``deny`` or ``unknown``. Only ``allow`` lets data in: anything the evaluator does not understand,
an unknown left operand, action or duty, a reference it cannot resolve, malformed structure,
makes the answer ``unknown`` and never ``allow``.

```
 prohibitions that bind us and cover an action of ours ─► deny
 each of our actions granted by some permission (constraints true, duties automatic) ─► allow
 policy obligations that need a person ─► deny
```
Constraints are judged in three-valued logic (true, false, unknown): a rule's constraints and
an action's refinements are a conjunction, ``or``/``xone`` nest as in ODRL 2.2. Permissions are
alternatives (one that grants is enough); prohibitions and obligations are conditions that all
must pass. The only duty this pipeline fulfils by itself is attribution (the publisher and the
licence go into the dataset card); duties that need a person or a payment make a permission deny.

Policies arrive as compacted JSON-LD in the DSP context; prefixed keys (``odrl:permission``),
full IRIs, single objects where lists belong, and ``{"@id": ...}`` / ``{"@value": ...}``
wrappers are accepted as well. :func:`policy_difference` compares an offer with the agreement a
provider returns, on a canonical form (:func:`normalize_policy`) that ignores those encodings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

# Namespaces whose terms are compared by their short names (the DSP context's compact form).
_NAMESPACES = (
    "http://www.w3.org/ns/odrl/2/",
    "https://www.w3.org/ns/odrl/2/",
    "odrl:",
    "https://w3id.org/dspace/2025/1/",
    "dspace:",
)
_RDF_VALUE = ("rdf:value", "http://www.w3.org/1999/02/22-rdf-syntax-ns#value")
_TDM_MINE = "tdm:mine"
_TDM_MINE_FORMS = frozenset(
    {_TDM_MINE, "tdmrep:mine", "http://www.w3.org/ns/tdmrep#mine", "https://www.w3.org/ns/tdmrep#mine"}
)

# The actions of the ODRL 2.2 Common Vocabulary, deprecated ones included.
_ODRL_ACTIONS = frozenset(
    {
        "acceptTracking", "adHocShare", "aggregate", "annotate", "anonymize", "append", "appendTo",
        "archive", "attachPolicy", "attachSource", "attribute", "commercialize", "compensate",
        "concurrentUse", "copy", "delete", "derive", "digitize", "display", "distribute",
        "ensureExclusivity", "execute", "export", "exportTo", "extract", "extractChar", "extractPage",
        "extractWord", "give", "grantUse", "include", "index", "inform", "install", "lease", "lend",
        "license", "modify", "move", "nextPolicy", "obtainConsent", "pay", "play", "present", "preview",
        "print", "read", "reproduce", "reviewPolicy", "secondaryUse", "sell", "share", "shareAlike",
        "stream", "synchronize", "textToSpeech", "transfer", "transform", "translate", "uninstall",
        "use", "watermark", "write", "writeTo",
    }
)  # fmt: skip
# Duties the pipeline fulfils without a person: publisher and licence are recorded in the dataset card.
_AUTOMATIC_DUTIES = frozenset({"attribute", "attribution"})
# Duties that need a person, a payment or a promise a trained model cannot keep (deletion).
_PERSON_DUTIES = frozenset(
    {
        "acceptTracking", "anonymize", "attachPolicy", "attachSource", "compensate", "delete",
        "ensureExclusivity", "include", "inform", "lease", "nextPolicy", "obtainConsent", "pay",
        "reviewPolicy", "shareAlike", "uninstall", "watermark",
    }
)  # fmt: skip
_POLICY_TYPES = frozenset(
    {"Policy", "Set", "Offer", "Agreement", "Request", "Ticket", "Assertion", "Privacy"}
)

_LOGICAL_OPERATORS = ("and", "andSequence", "or", "xone")
_INCLUSIVE = frozenset({"eq", "isA", "isPartOf", "isAnyOf"})  # our value(s) among the right operand's
_EXCLUSIVE = frozenset({"neq", "isNoneOf"})  # our value(s) not among them
_ORDERINGS: dict[str, Callable[[datetime, datetime], bool]] = {
    "lt": lambda now, bound: now < bound,
    "lteq": lambda now, bound: now <= bound,
    "gt": lambda now, bound: now > bound,
    "gteq": lambda now, bound: now >= bound,
    "eq": lambda now, bound: now == bound,
    "neq": lambda now, bound: now != bound,
}
# Place names and identifiers that mean one of the usual location codes.
_PLACE_ALIASES = {
    "q458": "eu",  # Wikidata: European Union
    "european-union": "eu",
    "q183": "de",  # Wikidata: Germany
    "deu": "de",  # ISO 3166-1 alpha-3, EU country authority table
    "germany": "de",
    "european-economic-area": "eea",
}
# Properties a permission or prohibition may carry without changing what it grants or forbids.
_RULE_PROPERTIES = frozenset(
    {"@id", "@type", "uid", "target", "assigner", "assignee", "action", "constraint", "duty", "remedy"}
)
# Properties of a policy that this evaluator reads or that cannot change what it grants (``conflict``:
# prohibitions win here whatever the policy says, the strictest of its strategies).
_POLICY_PROPERTIES = frozenset(
    {"uid", "target", "assigner", "assignee", "permission", "prohibition", "obligation", "profile"}
    | {"timestamp", "conflict"}
)
_ANNOTATION_PREFIXES = ("dct:", "dc:", "rdfs:", "http://purl.org/dc/terms/")
# Left out of the canonical form: identity, parties and time of the agreement, and encodings.
_POLICY_IGNORED = frozenset(
    {"@id", "@type", "@context", "uid", "assigner", "assignee", "timestamp", "profile"}
)
_NESTED_IGNORED = frozenset({"@id", "@type", "@context", "uid"})
_LIST_TERMS = frozenset(
    {"permission", "prohibition", "obligation", "duty", "constraint", "refinement", "remedy", "consequence"}
    | set(_LOGICAL_OPERATORS)
)
_COMPARED_TERMS = ("target", "permission", "prohibition", "obligation")


@dataclass(frozen=True)
class UsageContext:
    """What this run will do with the data; the policy is judged against it."""

    participant_id: str | None  # our participant id (the assignee we are)
    actions: tuple[str, ...] = (_TDM_MINE,)  # what we do; "use" in a permission covers every action
    purposes: tuple[str, ...] = ("ai-training", "tdm")  # names of our one purpose (short names or IRIs)
    locations: tuple[str, ...] = ("DE", "EU", "EEA")  # where processing happens (JUPITER: Jülich, Germany)
    now: datetime | None = None  # evaluation time (UTC); None = datetime.now(UTC)


@dataclass(frozen=True)
class PolicyDecision:
    """The verdict on one policy: only ``allow`` lets the data in."""

    result: Literal["allow", "deny", "unknown"]
    reason: str  # one line
    policy_id: str | None  # the policy's "@id"

    @property
    def allowed(self) -> bool:
        return self.result == "allow"


class _Malformed(ValueError):
    """Policy structure the evaluator cannot read (a missing operator, a rule that is not an object)."""


@dataclass(frozen=True)
class _Verdict:
    """A three-valued truth (None: unknown) with the one-line reason for it."""

    truth: bool | None
    reason: str


@dataclass(frozen=True)
class _Action:
    name: str  # short ODRL name ("use"), "tdm:mine", or the term as written when unknown
    refinements: tuple[Any, ...]


@dataclass(frozen=True)
class _Judge:
    """The usage context with its values normalised once for comparison."""

    context: UsageContext
    actions: tuple[str, ...]
    purposes: frozenset[str]
    locations: frozenset[str]
    now: datetime

    @classmethod
    def of(cls, context: UsageContext) -> _Judge:
        now = context.now or datetime.now(UTC)
        return cls(
            context=context,
            actions=tuple(dict.fromkeys(_action_name(action) for action in context.actions)),
            purposes=frozenset(_token(purpose) for purpose in context.purposes),
            locations=frozenset(_place(location) for location in context.locations),
            now=now if now.tzinfo else now.replace(tzinfo=UTC),
        )

    def knows_action(self, name: str) -> bool:
        return name in _ODRL_ACTIONS or name == _TDM_MINE or name in self.actions


# --- public API ---------------------------------------------------------------------------------


def evaluate(policy: Mapping[str, Any], context: UsageContext) -> PolicyDecision:
    """Judge ``policy`` against ``context``; never raises, and answers ``allow`` only when sure."""
    policy_id = _policy_id(policy)
    try:
        verdict = _judge_policy(policy, _Judge.of(context))
    except _Malformed as error:
        return PolicyDecision("unknown", f"malformed policy: {error}", policy_id)
    except Exception as error:  # any structure the parser did not foresee is not understood
        return PolicyDecision("unknown", f"malformed policy: {type(error).__name__}: {error}", policy_id)
    result = {True: "allow", False: "deny", None: "unknown"}[verdict.truth]
    return PolicyDecision(result, verdict.reason, policy_id)


def policy_difference(offer: Mapping[str, Any], agreement: Mapping[str, Any]) -> str | None:
    """None when the agreement grants exactly what the offer said (ignoring @id, @type, @context, assigner,
    assignee, timestamp, profile and key prefixes/single-vs-list encodings); else a one-line reason naming
    the first difference (e.g. "permission differs", "target differs: a vs b")."""
    canonical: dict[str, dict[str, Any]] = {}
    for side, policy in (("offer", offer), ("agreement", agreement)):
        try:
            canonical[side] = normalize_policy(policy)
        except (ValueError, TypeError) as error:
            return f"{side} is malformed: {error}"
    for term in _COMPARED_TERMS:
        offered, agreed = canonical["offer"].get(term), canonical["agreement"].get(term)
        if offered != agreed and (offered or agreed):
            return _describe_difference(term, offered, agreed)
    return None


def normalize_policy(policy: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical form of a policy: short ODRL/DSP keys, actions and operands by short name, every
    list-valued term a list sorted by canonical JSON (``andSequence`` keeps its order), empty lists,
    identities, parties, timestamp and profile left out. Raises ValueError for what is not a policy."""
    if not isinstance(policy, Mapping):
        raise ValueError(f"expected a JSON object, got {type(policy).__name__}")
    return _canonical_node(policy, _POLICY_IGNORED)


# --- the decision ---------------------------------------------------------------------------------


def _judge_policy(policy: Any, judge: _Judge) -> _Verdict:
    if not isinstance(policy, Mapping):
        raise _Malformed(f"expected a JSON object, got {type(policy).__name__}")
    refusal = _unsupported_policy(policy, judge)
    if refusal:
        return refusal
    inherited_assignees = _values(policy, "assignee")
    prohibitions = [_rule(node, "prohibition") for node in _values(policy, "prohibition")]
    permissions = [_rule(node, "permission") for node in _values(policy, "permission")]
    stages = [
        _not_prohibited(prohibitions, inherited_assignees, judge),
        _permitted(permissions, inherited_assignees, judge),
        _obligations_met(_values(policy, "obligation"), judge),
    ]
    return _all_of(stages)


def _unsupported_policy(policy: Mapping[str, Any], judge: _Judge) -> _Verdict | None:
    """A verdict when the policy cannot be judged at all, else None."""
    types = [_short(_scalar(value)) for value in _values(policy, "@type")]
    if types and not any(kind in _POLICY_TYPES for kind in types if isinstance(kind, str)):
        return _Verdict(None, f"not an ODRL policy (@type {_show(types)})")
    if "@graph" in policy:
        return _Verdict(None, "policy is a JSON-LD @graph, which is not evaluated")
    inherited = _values(policy, "inheritFrom")
    if inherited:
        return _Verdict(None, f"policy inherits from {_show(_scalar(inherited[0]))}, which is not resolved")
    extension = _extensions(policy, "policy", _POLICY_PROPERTIES)
    if extension.truth is None:
        return extension
    if not judge.actions:
        return _Verdict(None, "the usage context names no action")
    if not _values(policy, "permission"):
        return _Verdict(False, "policy has no permission")
    return None


def _not_prohibited(prohibitions: list[_Rule], inherited: list[Any], judge: _Judge) -> _Verdict:
    """False when a prohibition binds us for one of our actions; unknown when one might."""
    verdicts = [
        _prohibition_binds(rule, action, ours, inherited, judge)
        for ours in judge.actions
        for rule in prohibitions
        for action in rule.actions
    ]
    binding = [verdict for verdict in verdicts if verdict.truth is not False]
    if not binding:
        return _Verdict(True, "")
    decided = next((verdict for verdict in binding if verdict.truth), binding[0])
    return _Verdict(False if decided.truth else None, decided.reason)


def _prohibition_binds(
    rule: _Rule, action: _Action, ours: str, inherited: list[Any], judge: _Judge
) -> _Verdict:
    label = f"prohibition {action.name}"
    coverage = _coverage(action.name, ours, judge)
    if coverage.truth is False:
        return coverage
    conditions = _all_of(
        [
            _assignee_applies(rule.node, inherited, label, judge),
            _extensions(rule.node, label),
            _labelled(label, _constraints(rule.node, "constraint", judge)),
            _labelled(label, _conjunction(action.refinements, judge)),
        ]
    )
    if coverage.truth is None:
        return _Verdict(
            None if conditions.truth is not False else False,
            f"{label}: action not understood, it might cover {ours}",
        )
    if conditions.truth:
        details = conditions.reason or "no constraints"
        return _Verdict(True, f"prohibited: {ours} ({label}; {details})")
    return conditions


def _permitted(permissions: list[_Rule], inherited: list[Any], judge: _Judge) -> _Verdict:
    """True when every action of ours is granted by some permission."""
    grants = [_granted(ours, permissions, inherited, judge) for ours in judge.actions]
    verdict = _all_of(grants)
    if verdict.truth:
        return _Verdict(True, "; ".join(dict.fromkeys(grant.reason for grant in grants)))
    return verdict


def _granted(ours: str, permissions: list[_Rule], inherited: list[Any], judge: _Judge) -> _Verdict:
    candidates = []
    for rule in permissions:
        for action in rule.actions:
            coverage = _coverage(action.name, ours, judge)
            if coverage.truth is False:
                continue
            label = f"permission {action.name}"
            grant = _permission_grants(rule, action, label, inherited, judge)
            if coverage.truth is None and grant.truth is not False:
                grant = _Verdict(None, f"{label}: action not understood")
            candidates.append(grant)
    if not candidates:
        named = sorted({action.name for rule in permissions for action in rule.actions})
        return _Verdict(False, f"no permission covers {ours} (permitted: {', '.join(named)})")
    return _any_of(candidates)


def _permission_grants(
    rule: _Rule, action: _Action, label: str, inherited: list[Any], judge: _Judge
) -> _Verdict:
    constraints = _all_of(
        [
            _constraints(rule.node, "constraint", judge),
            _conjunction(action.refinements, judge),
        ]
    )
    duties = _all_of(_duty_fulfilled(duty, label, judge) for duty in _values(rule.node, "duty"))
    verdict = _all_of(
        [
            _assignee_applies(rule.node, inherited, label, judge),
            _extensions(rule.node, label),
            _labelled(label, constraints),
            duties,
        ]
    )
    if verdict.truth:
        details = "; ".join(part for part in (constraints.reason, duties.reason) if part)
        return _Verdict(True, f"{label} ({details or 'no constraints'})")
    return verdict


def _obligations_met(obligations: list[Any], judge: _Judge) -> _Verdict:
    return _all_of(_duty_fulfilled(duty, "obligation", judge) for duty in obligations)


def _duty_fulfilled(duty: Any, label: str, judge: _Judge) -> _Verdict:
    """True when the duty is fulfilled automatically or does not bind us; False when it needs a person."""
    node = _mapping(duty, "duty")
    actions = _actions(node, "duty")
    active = _all_of([_assignee_applies(node, [], label, judge), _constraints(node, "constraint", judge)])
    return _all_of(_duty_action_fulfilled(action, active, label) for action in actions)


def _duty_action_fulfilled(action: _Action, active: _Verdict, label: str) -> _Verdict:
    name = action.name
    if name in _AUTOMATIC_DUTIES:
        if action.refinements:
            return _Verdict(None, f"{label} requires duty '{name}' with refinements that are not understood")
        return _Verdict(True, f"duty {name}")
    if active.truth is False:
        return _Verdict(True, "")
    if name in _PERSON_DUTIES:
        if active.truth is None:
            return _Verdict(
                None, f"{label} may require duty '{name}' ({active.reason}), which needs a person"
            )
        return _Verdict(False, f"{label} requires duty '{name}', which needs a person")
    return _Verdict(None, f"{label} requires duty '{name}', which is not understood")


def _coverage(rule_action: str, ours: str, judge: _Judge) -> _Verdict:
    """Whether a rule's action covers one of ours: ``use`` covers all, unknown actions might."""
    if rule_action in ("use", ours):
        return _Verdict(True, "")
    if judge.knows_action(rule_action):
        return _Verdict(False, "")
    return _Verdict(None, f"action '{rule_action}' not understood")


def _assignee_applies(node: Mapping[str, Any], inherited: list[Any], label: str, judge: _Judge) -> _Verdict:
    """Whether a rule assigned to someone is assigned to us (a rule without assignee applies to all)."""
    parties = _values(node, "assignee") or inherited
    if not parties:
        return _Verdict(True, "")
    names = [_scalar(party) for party in parties]
    if not all(isinstance(name, str) for name in names):
        return _Verdict(None, f"{label} has an assignee that is not understood")
    ours = judge.context.participant_id
    shown = ", ".join(names)
    if ours is None:
        return _Verdict(None, f"{label} is assigned to {shown} and our participant id is not set")
    if ours in names:
        return _Verdict(True, "")
    return _Verdict(False, f"{label} is assigned to {shown}, not to us ({ours})")


def _extensions(node: Mapping[str, Any], label: str, known: frozenset[str] = _RULE_PROPERTIES) -> _Verdict:
    """Unknown when a policy or rule carries a property that might narrow or widen what it grants."""
    for key in node:
        term = _term(key)
        if term not in known and not term.startswith(("@", *_ANNOTATION_PREFIXES)):
            return _Verdict(None, f"{label} has property '{key}', which is not understood")
    return _Verdict(True, "")


# --- constraints ----------------------------------------------------------------------------------


def _constraints(node: Mapping[str, Any], term: str, judge: _Judge) -> _Verdict:
    return _conjunction(_values(node, term), judge)


def _conjunction(constraints: Iterable[Any], judge: _Judge) -> _Verdict:
    return _all_of(_constraint(constraint, judge) for constraint in constraints)


def _constraint(constraint: Any, judge: _Judge) -> _Verdict:
    if isinstance(constraint, str):
        return _Verdict(None, f"constraint reference '{constraint}' is not resolved")
    node = _mapping(constraint, "constraint")
    logical = [term for term in _LOGICAL_OPERATORS if _values(node, term)]
    if logical:
        if len(logical) > 1 or _values(node, "leftOperand"):
            raise _Malformed(f"constraint mixes {', '.join(logical)} with other operands")
        return _logical(logical[0], _values(node, logical[0]), judge)
    return _atomic(node, judge)


def _logical(operator: str, members: list[Any], judge: _Judge) -> _Verdict:
    verdicts = [_constraint(member, judge) for member in members]
    if operator == "or":
        return _any_of(verdicts, "or")
    if operator == "xone":
        return _exactly_one(verdicts)
    return _all_of(verdicts)


def _atomic(node: Mapping[str, Any], judge: _Judge) -> _Verdict:
    left = _short(_single(node, "leftOperand"))
    operator = _short(_single(node, "operator"))
    if not isinstance(left, str) or not isinstance(operator, str):
        raise _Malformed(f"constraint operands are not terms: {left!r} {operator!r}")
    if _values(node, "rightOperandReference"):
        return _Verdict(
            None, f"constraint {left} {operator} uses rightOperandReference, which is not resolved"
        )
    right = _values(node, "rightOperand")
    if not right:
        raise _Malformed(f"constraint {left} {operator} has no rightOperand")
    check = _LEFT_OPERANDS.get(left)
    if check is None:
        return _Verdict(None, f"constraint leftOperand '{left}' not understood")
    return check(operator, [_scalar(value) for value in right], judge)


def _membership(
    name: str, operator: str, right: list[Any], ours: frozenset[str], key: Callable[[str], str], what: str
) -> _Verdict:
    """A constraint that names a set of values (purposes, places) and compares ours with it.

    Our values name one activity or place in several vocabularies, so one match suffices for the
    inclusive operators, and none may match for the exclusive ones.
    """
    description = f"{name} {operator} {_show(right)}"
    if not all(isinstance(value, str) for value in right):
        return _Verdict(None, f"constraint {description}: rightOperand not understood")
    if not ours:
        return _Verdict(None, f"constraint {description}: the usage context names no {what}")
    values = {key(value) for value in right}
    if operator in _INCLUSIVE:
        return _met(bool(ours & values), description)
    if operator in _EXCLUSIVE:
        return _met(not ours & values, description)
    return _Verdict(None, f"constraint {description}: operator '{operator}' not understood for {name}")


def _purpose(operator: str, right: list[Any], judge: _Judge) -> _Verdict:
    return _membership("purpose", operator, right, judge.purposes, _token, "purpose")


def _spatial(operator: str, right: list[Any], judge: _Judge) -> _Verdict:
    return _membership("spatial", operator, right, judge.locations, _place, "location")


def _date_time(operator: str, right: list[Any], judge: _Judge) -> _Verdict:
    description = f"dateTime {operator} {_show(right)}"
    bound = _instant(right[0]) if len(right) == 1 else None
    if bound is None:
        return _Verdict(None, f"constraint {description}: rightOperand is not an ISO 8601 date-time")
    compare = _ORDERINGS.get(operator)
    if compare is None:
        return _Verdict(None, f"constraint {description}: operator '{operator}' not understood for dateTime")
    if compare(judge.now, bound):
        return _Verdict(True, description)
    return _Verdict(False, f"constraint {description} not met at {judge.now.isoformat(timespec='seconds')}")


def _party(operator: str, right: list[Any], judge: _Judge) -> _Verdict:
    description = f"party {operator} {_show(right)}"
    ours = judge.context.participant_id
    if not all(isinstance(value, str) for value in right):
        return _Verdict(None, f"constraint {description}: rightOperand not understood")
    if ours is None:
        return _Verdict(None, f"constraint {description}: our participant id is not set")
    if operator in _INCLUSIVE:
        return _met(ours in right, description)
    if operator in _EXCLUSIVE:
        return _met(ours not in right, description)
    return _Verdict(None, f"constraint {description}: operator '{operator}' not understood for a party")


def _spatial_coordinates(operator: str, right: list[Any], judge: _Judge) -> _Verdict:
    return _Verdict(None, "constraint leftOperand 'spatialCoordinates' not understood")


_LEFT_OPERANDS: dict[str, Callable[[str, list[Any], _Judge], _Verdict]] = {
    "purpose": _purpose,
    "spatial": _spatial,
    "spatialCoordinates": _spatial_coordinates,
    "dateTime": _date_time,
    "assignee": _party,
    "recipient": _party,
}


def _met(truth: bool, description: str) -> _Verdict:
    return _Verdict(True, description) if truth else _Verdict(False, f"constraint {description} not met")


def _instant(value: Any) -> datetime | None:
    """An ISO 8601 date-time or date (its start), UTC when it names no offset; None when unparseable."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            day = date.fromisoformat(text.removesuffix("Z"))
        except ValueError:
            return None
        moment = datetime(day.year, day.month, day.day)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- three-valued logic ---------------------------------------------------------------------------


def _all_of(verdicts: Iterable[_Verdict]) -> _Verdict:
    """False if any is false, else unknown if any is unknown, else true (reasons of the true ones)."""
    verdicts = list(verdicts)
    for truth in (False, None):
        found = next((verdict for verdict in verdicts if verdict.truth is truth), None)
        if found is not None:
            return found
    return _Verdict(True, "; ".join(verdict.reason for verdict in verdicts if verdict.reason))


def _any_of(verdicts: list[_Verdict], name: str = "") -> _Verdict:
    """True if any is true, else unknown if any is unknown, else false."""
    for truth in (True, None):
        found = next((verdict for verdict in verdicts if verdict.truth is truth), None)
        if found is not None:
            return found
    if name:
        return _Verdict(False, f"{name}: none met ({'; '.join(verdict.reason for verdict in verdicts)})")
    return verdicts[0] if verdicts else _Verdict(False, "no alternative")


def _exactly_one(verdicts: list[_Verdict]) -> _Verdict:
    """Unknown if any is unknown, else true when exactly one is true."""
    unknown = next((verdict for verdict in verdicts if verdict.truth is None), None)
    if unknown is not None:
        return unknown
    met = [verdict for verdict in verdicts if verdict.truth]
    if len(met) == 1:
        return _Verdict(True, f"xone: {met[0].reason}")
    return _Verdict(False, f"xone: {len(met)} of {len(verdicts)} met, exactly one required")


def _labelled(label: str, verdict: _Verdict) -> _Verdict:
    """A constraint verdict told as part of a rule (true ones keep their bare description)."""
    if verdict.truth:
        return verdict
    return _Verdict(verdict.truth, f"{label}: {verdict.reason}")


# --- reading JSON-LD ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rule:
    node: Mapping[str, Any]
    actions: tuple[_Action, ...]


def _rule(node: Any, kind: str) -> _Rule:
    mapping = _mapping(node, kind)
    return _Rule(mapping, _actions(mapping, kind))


def _actions(node: Mapping[str, Any], kind: str) -> tuple[_Action, ...]:
    values = _values(node, "action")
    if not values:
        raise _Malformed(f"{kind} without action")
    return tuple(_action(value) for value in values)


def _action(value: Any) -> _Action:
    """``"use"``, ``{"@id": "odrl:use"}``, or ``{"rdf:value" | "action": ..., "refinement": [...]}``."""
    if isinstance(value, str):
        return _Action(_action_name(value), ())
    node = _mapping(value, "action")
    named = _values(node, "rdf:value") + _values(node, "action") or _values(node, "@id")
    if len(named) != 1:
        raise _Malformed(f"action object names {len(named)} actions")
    name = _scalar(named[0])
    if not isinstance(name, str):
        raise _Malformed(f"action value is not a term: {name!r}")
    return _Action(_action_name(name), tuple(_values(node, "refinement")))


def _action_name(raw: str) -> str:
    text = raw.strip()
    if text in _TDM_MINE_FORMS:
        return _TDM_MINE
    return _short(text)


def _term(key: str) -> str:
    """A key's short ODRL/DSP term: ``odrl:permission`` and its IRI are ``permission``."""
    if key in _RDF_VALUE:
        return "rdf:value"
    return _short(key)


def _short(value: Any) -> Any:
    if isinstance(value, str):
        for namespace in _NAMESPACES:
            if value.startswith(namespace) and len(value) > len(namespace):
                return value[len(namespace) :]
    return value


def _values(node: Mapping[str, Any], term: str) -> list[Any]:
    """Every value of ``term`` under any of its spellings, single values and @list/@set made lists."""
    found: list[Any] = []
    for key, value in node.items():
        if _term(key) == term:
            found.extend(_as_list(value))
    return found


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return [item for element in value for item in _as_list(element)]
    if isinstance(value, Mapping) and len(value) == 1 and ("@list" in value or "@set" in value):
        return _as_list(next(iter(value.values())))
    return [value]


def _single(node: Mapping[str, Any], term: str) -> Any:
    values = _values(node, term)
    if len(values) != 1:
        raise _Malformed(f"constraint needs one {term}, has {len(values)}")
    return _scalar(values[0])


def _scalar(value: Any) -> Any:
    """A value without its JSON-LD wrapper: ``{"@value": v}`` is v, ``{"@id": i}`` is i."""
    if isinstance(value, Mapping):
        if "@value" in value:
            return value["@value"]
        if "@id" in value:
            return value["@id"]
    return value


def _mapping(value: Any, kind: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _Malformed(f"{kind} is not a JSON object: {_show(value)}")
    return value


def _policy_id(policy: Any) -> str | None:
    if not isinstance(policy, Mapping):
        return None
    ids = [_scalar(value) for term in ("@id", "uid") for value in _values(policy, term)]
    return next((value for value in ids if isinstance(value, str)), None)


def _token(value: str) -> str:
    """A name compared loosely: lowercase, last IRI segment, ``_`` as ``-``."""
    segment = re.split(r"[#/:]", value.strip().rstrip("#/:"))[-1]
    return segment.lower().replace("_", "-")


def _place(value: str) -> str:
    token = _token(value)
    return _PLACE_ALIASES.get(token, token)


def _show(value: Any, limit: int = 120) -> str:
    """A value told in a reason: strings bare, a list of one as its item, lists of strings bracketed."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    if isinstance(value, str):
        text = value
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        text = f"[{', '.join(value)}]"
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- canonical form -------------------------------------------------------------------------------


def _canonical_node(node: Mapping[str, Any], ignored: frozenset[str]) -> dict[str, Any]:
    grouped: dict[str, list[Any]] = {}
    for key, value in node.items():
        term = _term(key)
        if term not in ignored:
            grouped.setdefault(term, []).extend(_as_list(value))
    canonical = {term: _canonical_values(term, values) for term, values in sorted(grouped.items())}
    return {term: value for term, value in canonical.items() if value not in ([], None)}


def _canonical_values(term: str, values: list[Any]) -> Any:
    if term == "action":
        items = [_canonical_action(_action(value)) for value in values]
    elif term in ("leftOperand", "operator"):
        items = [_short(_scalar(value)) for value in values]
    else:
        items = [_canonical_item(value) for value in values]
    if term != "andSequence":
        items.sort(key=_canonical_json)
    if term in _LIST_TERMS:
        return items
    return items[0] if len(items) == 1 else items or None


def _canonical_action(action: _Action) -> Any:
    if not action.refinements:
        return action.name
    return {"action": action.name, "refinement": _canonical_values("refinement", list(action.refinements))}


def _canonical_item(value: Any) -> Any:
    if isinstance(value, Mapping):
        if "@value" in value:
            return _canonical_item(value["@value"])
        if "@id" in value and set(value) <= {"@id", "@type"}:
            return _short(value["@id"])
        return _canonical_node(value, _NESTED_IGNORED)
    return _short(value)


def _canonical_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _describe_difference(term: str, offered: Any, agreed: Any) -> str:
    """Where the canonical forms first part, e.g. ``permission[0].constraint[1].rightOperand``."""
    if term in _LIST_TERMS:
        offered, agreed = offered or [], agreed or []
        if len(offered) != len(agreed):
            return f"{term} differs: the offer has {len(offered)}, the agreement {len(agreed)}"
    path, offered, agreed = _first_difference(term, offered, agreed)
    place = "" if path == term else f" at {path}"
    return f"{term} differs{place}: {_show_side(offered)} vs {_show_side(agreed)}"


def _first_difference(path: str, offered: Any, agreed: Any) -> tuple[str, Any, Any]:
    if isinstance(offered, dict) and isinstance(agreed, dict):
        key = next(key for key in sorted({*offered, *agreed}) if offered.get(key) != agreed.get(key))
        return _first_difference(f"{path}.{key}", offered.get(key), agreed.get(key))
    if isinstance(offered, list) and isinstance(agreed, list) and len(offered) == len(agreed):
        index = next(
            index for index, pair in enumerate(zip(offered, agreed, strict=True)) if pair[0] != pair[1]
        )
        return _first_difference(f"{path}[{index}]", offered[index], agreed[index])
    return path, offered, agreed


def _show_side(value: Any) -> str:
    return "(none)" if value is None else _show(value)
