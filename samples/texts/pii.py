"""Paragraphs appended to chosen base documents: personal data, and numbers that are not personal data.

Keys are ``(lang, topic, index)`` of the base document (see ``generate.PLAN``). Markup:

- ``{{email:…}}``, ``{{phone:…}}``, ``{{ip:…}}`` — literal values, all invented (e-mail addresses at
  ``.example`` / ``example.com|org|net`` domains; phone numbers from ranges reserved for fiction where a
  country has one: UK 020 7946 0xxx, 01632 960xxx, 07700 900xxx; US 555-01xx; IPs from the
  documentation ranges 192.0.2.0/24, 198.51.100.0/24, 2001:db8::/32);
- ``{{iban:CC}}`` / ``{{iban:CC:compact}}`` — an invented IBAN with a correct mod-97 checksum (and correct
  national check digits for HU), printed in groups of four or without spaces;
- ``{{bsn}}``, ``{{taj}}``, ``{{steuer_id}}`` — invented national ids with valid check digits;
- ``{{bad_iban:CC}}`` — IBAN-shaped but with a wrong checksum: a detector must NOT redact it;
- ``{{isbn}}`` — a valid ISBN-13 (not personal data); ``{{decoy:…}}`` — dates, prices, order and model
  numbers that are not personal data either.

The generator replaces the markup and records every value in ``samples/expected.jsonl``.
"""

from __future__ import annotations

PII_ADDITIONS: dict[tuple[str, str, int], str] = {
    # German
    (
        "de",
        "notice",
        0,
    ): "Rückfragen beantwortet im Bürgerbüro Frau Miriam Hollwede unter der Telefonnummer {{phone:+49 30 2312541}} oder per E-Mail an {{email:m.hollwede@stadt-lindenfeld.example}}.",
    (
        "de",
        "notice",
        1,
    ): "Sperrmüll-Anmeldungen nimmt Herr Dennis Wolkenhauer telefonisch unter {{phone:030/2312549}} entgegen, schriftliche Anfragen richten Sie bitte an {{email:sperrmuell@stadt-lindenfeld.example}}.",
    (
        "de",
        "council",
        0,
    ): "Die Bürgerinitiative Gartenstraße ist per E-Mail unter {{email:bi.gartenstrasse@buergerpost.example}} erreichbar, und ihr Sprecher Jonas Brettschneider bittet um Anrufe unter {{phone:0176 5550 1234}}.",
    (
        "de",
        "sports",
        0,
    ): "Anmeldungen zum Stadtlauf nimmt Vereinsvorstand Uwe Mertinat unter {{phone:+49 221 4710388}} oder {{email:stadtlauf@tsv-lindenfeld.example}} entgegen, und die Startgebühr von 12 Euro überweisen Sie bitte auf das Konto {{iban:DE}}.",
    (
        "de",
        "forum",
        0,
    ): "Wer Interesse an meinen übrigen Tomatensamen hat, schreibt mir einfach an {{email:kalle.gruenbaum@mailbox.example}}, und den Versandkostenanteil von 2,50 Euro könnt ihr an {{iban:DE:compact}} überweisen.",
    (
        "de",
        "forum",
        1,
    ): "Kurze Frage am Rande: Die Gemeinde will für die Hundesteuer meine Steuer-ID wissen, und auf meinem Schreiben steht Steuer-ID {{steuer_id}}, darf ich die einfach so per E-Mail weitergeben?",
    (
        "de",
        "review",
        0,
    ): "Falls jemand Fragen zu dem Gerät hat, bin ich unter {{email:r.tiedemann@example.com}} oder abends unter {{phone:+49 40 66969214}} erreichbar.",
    (
        "de",
        "notice",
        5,
    ): "Ansprechpartnerin für alle Fragen zur Abfallentsorgung ist Frau Katrin Osterloh, erreichbar unter {{phone:0221 4710356}} und {{email:abfallberatung@stadt-lindenfeld.example}}.",
    # Hungarian
    (
        "hu",
        "notice",
        0,
    ): "További információért forduljon Horváth Dórához, az ügyfélszolgálat munkatársához a {{phone:+36 1 555 2841}} telefonszámon vagy a {{email:ugyfelszolgalat@kohidvar.example}} címen.",
    (
        "hu",
        "notice",
        1,
    ): "A lomtalanítási igényeket Kiss Bence veszi fel hétköznaponként a {{phone:06 30 555 1234}} számon, írásban pedig a {{email:lomtalanitas@kohidvar.example}} címre lehet küldeni.",
    (
        "hu",
        "council",
        0,
    ): "A Kossuth utcai lakók képviselője, Szűcs Márton a {{email:szucs.marton@levelezo.example}} címen és a {{phone:06 20 555 8812}} telefonszámon érhető el.",
    (
        "hu",
        "sports",
        0,
    ): "A futóversenyre Fekete Zsófiánál lehet jelentkezni a {{phone:+36 70 555 4420}} számon, a nevezési díjat pedig a {{iban:HU}} számlára kell átutalni.",
    (
        "hu",
        "forum",
        0,
    ): "Ha valaki kérne a megmaradt paradicsommagjaimból, írjon a {{email:kertesz.panni@postafiok.example}} címre, a postaköltséget pedig a {{iban:HU:compact}} számlára lehet küldeni.",
    (
        "hu",
        "forum",
        1,
    ): "Egy kis kitérő: az orvosi rendelőben elkérték a TAJ-számomat, ami {{taj}}, és most azon gondolkodom, baj-e, hogy ezt e-mailben küldtem el nekik.",
    (
        "hu",
        "review",
        0,
    ): "Ha valakinek kérdése van a géppel kapcsolatban, nyugodtan írjon a {{email:nagy.levente@example.org}} címre vagy hívjon a {{phone:06-1-555-7310}} számon.",
    # Dutch
    (
        "nl",
        "notice",
        0,
    ): "Voor vragen kunt u contact opnemen met mevrouw Femke Oosterhuis van het klantcontactcentrum via {{phone:+31 20 555 1234}} of per e-mail via {{email:f.oosterhuis@lindendam.example}}.",
    (
        "nl",
        "notice",
        1,
    ): "Grofvuil aanmelden kan ook telefonisch bij de heer Ruben Kamphorst op {{phone:020-5551872}} of per mail naar {{email:grofvuil@lindendam.example}}.",
    (
        "nl",
        "council",
        0,
    ): "De bewonersvereniging van de Dorpsstraat is bereikbaar via {{email:bewoners.dorpsstraat@voorbeeldmail.example}}, en woordvoerder Sanne Bijlsma is te bellen op {{phone:06-55512345}}.",
    (
        "nl",
        "sports",
        0,
    ): "Inschrijven voor de stadsloop kan bij penningmeester Joost Verhagen via {{email:stadsloop@vvlindendam.example}}, en het inschrijfgeld van 10 euro maakt u over naar {{iban:NL}}.",
    (
        "nl",
        "forum",
        0,
    ): "Wie nog tomatenzaadjes wil hebben, kan me mailen op {{email:tuinier.wim@postvak.example}} of appen naar {{phone:+31 6 5551 2345}}, en de verzendkosten kun je overmaken naar {{iban:NL:compact}}.",
    (
        "nl",
        "forum",
        1,
    ): "Even iets anders: de gemeente vroeg voor mijn vergunning om mijn BSN, en ik heb op het formulier BSN {{bsn}} ingevuld, is dat eigenlijk veilig om via de mail te sturen?",
    (
        "nl",
        "review",
        0,
    ): "Heeft iemand vragen over het apparaat, bel me dan gerust op {{phone:010-5554321}} na zes uur 's avonds.",
    (
        "nl",
        "notice",
        5,
    ): "Heeft u vragen over deze mededeling, neem dan contact op met de heer Bas Hoekstra via {{phone:+31 20 555 9876}} of {{email:b.hoekstra@lindendam.example}}.",
    # English
    (
        "en",
        "notice",
        0,
    ): "For further information please contact Ms Priya Lindqvist at the customer service centre on {{phone:+44 20 7946 0321}} or by email at {{email:p.lindqvist@harbourton.example}}.",
    (
        "en",
        "notice",
        1,
    ): "Residents living abroad can reach the electoral services team on {{phone:+1 202 555 0147}} or write to {{email:elections@harbourton.example}}.",
    (
        "en",
        "council",
        0,
    ): "The Station Road residents' group can be contacted at {{email:stationroad.residents@example.net}}, and its spokesperson, Tom Ashworth, can be reached on {{phone:07700 900417}}.",
    (
        "en",
        "sports",
        0,
    ): "Entries for the 10K are handled by the club secretary, Gwen Ellery, at {{email:10k@harbourtontown.example}} or on {{phone:+44 1632 960184}}.",
    (
        "en",
        "forum",
        0,
    ): "My garden weather station uploads its readings from the address {{ip:192.0.2.44}}, its newer sensor uses {{ip:2001:db8::17}}, and the log shows odd requests from {{ip:198.51.100.23}}, so email me at {{email:allotment.dave@example.org}} if you have seen this before.",
    (
        "en",
        "forum",
        1,
    ): "Slightly off topic, but I bought a second-hand greenhouse from a seller in Utrecht and paid into the account {{iban:NL}}, and it arrived in perfect condition.",
    (
        "en",
        "review",
        0,
    ): "If anyone has questions about the machine, drop me a line at {{email:coffee.fan.ellie@example.com}} or ring {{phone:+44 20 7946 0958}} in the evening.",
}

DECOY_ADDITIONS: dict[tuple[str, str, int], str] = {
    (
        "de",
        "forum",
        2,
    ): "Vorsicht beim Abtippen: Bei der Nummer {{bad_iban:DE}} hatte ich mich um eine Ziffer vertan, und die Bank hat die Überweisung sofort abgelehnt, weil die Prüfziffer nicht stimmte.",
    (
        "nl",
        "forum",
        2,
    ): "Let op bij het overtypen: het nummer {{bad_iban:NL}} uit een oude mail bleek een tikfout te bevatten, en de bank weigerde de overboeking meteen omdat het controlegetal niet klopte.",
    (
        "de",
        "review",
        1,
    ): "Ich habe das Gerät am {{decoy:12.03.2024}} für {{decoy:349,00 €}} gekauft, die Modellnummer lautet {{decoy:KV-2210/B}}, und die Lieferung kam am nächsten Tag gegen {{decoy:14:30}} Uhr.",
    (
        "hu",
        "review",
        1,
    ): "A rendelés száma {{decoy:2024/118/5573}} volt, a végösszeg {{decoy:34 990}} forint, és a futár {{decoy:2024. március 12-én}} délután hozta ki a csomagot.",
    (
        "nl",
        "review",
        1,
    ): "Het pakket met bestelnummer {{decoy:NL-2024-00417}} kostte {{decoy:€ 24,95}} en werd op {{decoy:14-03-2024}} rond {{decoy:16.45}} uur bezorgd.",
    (
        "en",
        "culture",
        1,
    ): "The booklet (ISBN {{isbn}}) costs {{decoy:£7.50}} and was printed in a run of {{decoy:1,200}} copies in {{decoy:2023}}.",
}
