"""Frequent function words of the languages the project curates, for the Gopher stop-word rule.

Written for this project: articles, pronouns, auxiliaries, prepositions, conjunctions and particles,
lower case, as the quality stage's word tokenizer yields them. A text in the language has many of
them in every paragraph; word salad, keyword spam, tables and navigation menus have few or none.
"""

from __future__ import annotations


def _words(block: str) -> frozenset[str]:
    return frozenset(word.casefold() for word in block.split())  # as the tokenizer folds words


GERMAN = _words(
    """
    der die das den dem des ein eine einen einem einer eines kein keine keinen keinem keiner
    und oder aber doch denn sondern sowie dass daß ob weil wenn als wie da dann damit obwohl
    ich du er sie es wir ihr mich mir dich dir sich uns euch ihm ihn ihnen sein seine seinen
    seinem seiner ihre ihren ihrem ihrer unser unsere mein meine dein deine man
    ist sind war waren bin bist seid wird werden wurde wurden worden hat habe haben hatte hatten
    kann können konnte muss müssen musste soll sollen sollte will wollen wollte darf dürfen
    nicht auch noch nur schon sehr so mehr viel viele immer wieder nun ja nein hier dort etwa
    mit von zu zum zur bei aus nach vor über unter auf an am im in ins für gegen ohne um durch
    bis seit während wegen zwischen neben hinter beim vom
    was wer wo wann warum dieser diese dieses diesem diesen jeder jede jedes alle allen alles
    selbst andere anderen sowohl
    """
)

HUNGARIAN = _words(
    """
    a az egy és is nem hogy de meg már még csak sem se vagy mint pedig hanem illetve valamint
    azonban tehát viszont ha mert amikor ahol míg bár így úgy akkor majd most itt ott
    van volt lesz lett vannak voltak lehet kell nincs nincsenek legyen lenne
    ez az ezt azt ezek azok ennek annak ebben abban erre arra ezért azért ide oda
    ki mi mit kit aki ami amely amelyek akik amit amelyet mely melyek minden mindig semmi
    én te ő ők ti engem téged őt őket nekem neked neki nekünk nekik velem vele velük rá
    magát maga saját egyik másik más több sok nagyon egész
    el fel le be vissza után alatt között szerint miatt óta felé nélkül mellett során előtt
    """
)

DUTCH = _words(
    """
    de het een en of maar want dus omdat als dan toen terwijl hoewel zodat dat die dit deze
    van in op te aan voor met bij door over naar uit om tot sinds onder tussen na zonder tegen
    tijdens binnen tegenover
    is zijn was waren ben bent wordt worden werd werden geweest heeft hebben had hadden
    kan kunnen kon moet moeten zal zullen zou zouden wil willen mag
    ik je jij u hij zij ze we wij jullie hun hem haar mij me ons mijn jouw zijn uw onze
    men zich zelf er hier daar waar wat wie hoe welke welk elk elke alle iets niets
    niet geen ook nog wel al meer veel zo nu toch ja nee alleen reeds even zeer
    """
)

ENGLISH = _words(
    """
    the a an and or but nor so yet if then than because while although though whether that
    this these those there here what which who whom whose when where why how
    i you he she it we they me him her us them my your his its our their mine yours
    is are was were be been being am have has had having do does did done
    will would shall should can could may might must not no
    of in on at to for with by from about into over after before under between through
    during without against among up out off down as
    all any some each every both other such only own same also very just more most much
    many few one two now again further once
    """
)

STOP_WORDS: dict[str, frozenset[str]] = {"de": GERMAN, "hu": HUNGARIAN, "nl": DUTCH, "en": ENGLISH}
