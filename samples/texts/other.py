"""Whole documents in languages the sample config does not select (the pipeline filters them).

Each entry is ``(lang, kind, text)``; paragraphs are separated by blank lines. Places
(Saint-Aubin-des-Prés, Villanueva del Río, San Vito al Borgo, Zielona Dolina, Åbacka,
Uewerbaach, Lytsewâld, Horní Lhota) and people are invented.
"""

from __future__ import annotations

OTHER_LANGUAGE_DOCS: list[tuple[str, str, str]] = [
    (
        "fr",
        "news",
        "Le conseil municipal de Saint-Aubin-des-Prés a adopté lundi soir le projet de rénovation de la salle des fêtes, fermée depuis deux ans pour des raisons de sécurité. Les travaux devraient commencer au printemps et durer environ dix mois.\n\n"
        "Selon le maire, le coût total s'élève à un peu plus d'un million d'euros, dont une grande partie sera financée par la région et le département. Plusieurs associations locales attendent cette réouverture avec impatience, car elles doivent aujourd'hui louer des salles dans les communes voisines.\n\n"
        "Lors de la séance, des habitants ont également demandé que le parking situé derrière l'école soit mieux éclairé. La municipalité a promis d'étudier la question et de présenter une solution avant la fin de l'année.",
    ),
    (
        "fr",
        "recipe",
        "La ratatouille est un plat d'été originaire de Provence qui se prépare avec des légumes bien mûrs. Il faut compter une aubergine, deux courgettes, deux poivrons, quatre tomates, un oignon et deux gousses d'ail pour quatre personnes.\n\n"
        "Les légumes sont coupés en morceaux de taille égale, puis revenus séparément dans l'huile d'olive afin que chacun garde sa saveur. On les réunit ensuite dans une grande cocotte avec du thym, du laurier et une pincée de sel.\n\n"
        "La ratatouille doit mijoter doucement pendant au moins quarante minutes, à couvert et à feu doux. Elle est encore meilleure le lendemain, froide ou réchauffée, accompagnée de riz ou d'un morceau de pain de campagne.",
    ),
    (
        "fr",
        "travel",
        "La côte de granit rose, dans le nord de la Bretagne, doit son nom aux énormes rochers aux couleurs chaudes qui bordent la mer. Le sentier des douaniers permet de la découvrir à pied, entre criques sauvages, phares et petits ports de pêche.\n\n"
        "Au printemps et en automne, les promeneurs sont moins nombreux et la lumière est particulièrement belle en fin de journée. Il faut toutefois prévoir un vêtement imperméable, car le temps change vite au bord de l'océan.\n\n"
        "Le soir, on peut goûter des crêpes de sarrasin dans une crêperie du village, avec une bolée de cidre. Beaucoup de visiteurs reviennent chaque année dans la même maison de vacances, tant la région est attachante.",
    ),
    (
        "fr",
        "forum",
        "Bonjour à tous, je voudrais me remettre au vélo pour aller au travail, mais mon trajet fait environ quinze kilomètres avec une côte assez raide à la fin. Est-ce que vous me conseillez plutôt un vélo électrique ou un vélo classique avec de bonnes vitesses ?\n\n"
        "J'ai fait le même choix l'année dernière et j'ai pris un vélo électrique d'occasion. Je ne le regrette pas du tout, car j'arrive au bureau sans être en sueur et je roule même quand il pleut.\n\n"
        "Pour ma part, je roule sur un vélo classique depuis des années et la côte devient plus facile au bout de quelques semaines. Le plus important, c'est d'avoir un bon antivol et un endroit sûr pour garer le vélo.",
    ),
    (
        "es",
        "news",
        "Las fiestas patronales de Villanueva del Río comenzarán el próximo viernes con el tradicional pregón desde el balcón del ayuntamiento. Durante cinco días, el pueblo acogerá conciertos, verbenas, una feria de artesanía y varias actividades para niños.\n\n"
        "El ayuntamiento ha informado de que el casco antiguo permanecerá cerrado al tráfico por las tardes para garantizar la seguridad de vecinos y visitantes. Se habilitarán aparcamientos gratuitos junto al polideportivo y un autobús lanzadera cada veinte minutos.\n\n"
        "La concejala de cultura recordó que este año se ha reforzado el servicio de limpieza y que habrá puntos de recogida selectiva en todas las plazas. También pidió a los asistentes que respeten el descanso de los vecinos a partir de la medianoche.",
    ),
    (
        "es",
        "recipe",
        "La tortilla de patatas es uno de los platos más populares de la cocina española y, aunque los ingredientes son sencillos, cada familia tiene su propio truco. Para cuatro personas se necesitan unas cinco patatas medianas, seis huevos, una cebolla, aceite de oliva y sal.\n\n"
        "Las patatas se cortan en láminas finas y se fríen lentamente en abundante aceite junto con la cebolla, hasta que estén tiernas pero sin dorarse demasiado. Después se escurren bien y se mezclan con los huevos batidos.\n\n"
        "La mezcla se cuaja en una sartén a fuego medio y, cuando los bordes empiezan a estar firmes, se le da la vuelta con ayuda de un plato. Hay quien la prefiere jugosa por dentro y quien la deja bien hecha, y esa discusión nunca termina.",
    ),
    (
        "es",
        "science",
        "El agua del mar es salada porque durante millones de años los ríos han ido arrastrando minerales disueltos desde las rocas de los continentes hasta los océanos. Cuando el agua se evapora por el calor del sol, las sales se quedan atrás y su concentración aumenta poco a poco.\n\n"
        "La sal más abundante en el océano es el cloruro de sodio, la misma que usamos en la cocina, aunque también hay magnesio, calcio y potasio. De media, cada litro de agua de mar contiene unos treinta y cinco gramos de sales.\n\n"
        "No todos los mares tienen la misma salinidad. En las zonas donde llueve mucho o desembocan grandes ríos el agua es menos salada, mientras que en mares cerrados y cálidos, como el mar Rojo, la evaporación hace que la concentración sea mucho mayor.",
    ),
    (
        "es",
        "review",
        "Llevo dos meses usando este teléfono y, en general, estoy bastante contento con la compra. La batería dura sin problemas un día entero de uso intenso y la pantalla se ve muy bien incluso a pleno sol.\n\n"
        "La cámara hace buenas fotos durante el día, pero por la noche aparece bastante ruido y los colores pierden fuerza. Para las redes sociales es más que suficiente, aunque quien busque fotos de calidad profesional debería mirar otros modelos.\n\n"
        "Lo que menos me ha gustado es que viene con varias aplicaciones preinstaladas que no se pueden borrar. Aun así, por el precio que tiene, creo que es una opción muy recomendable y le doy cuatro estrellas de cinco.",
    ),
    (
        "it",
        "recipe",
        "Il risotto alla milanese si prepara con riso Carnaroli o Arborio, brodo di carne, cipolla, burro, parmigiano e zafferano. Per prima cosa si fa appassire la cipolla tritata nel burro, poi si aggiunge il riso e lo si tosta per un paio di minuti.\n\n"
        "Si sfuma con un bicchiere di vino bianco e, una volta evaporato, si comincia ad aggiungere il brodo caldo un mestolo alla volta, mescolando spesso. Lo zafferano, sciolto in poco brodo, va unito a metà cottura per dare al piatto il suo colore dorato.\n\n"
        "Quando il riso è al dente si toglie dal fuoco e si manteca con burro freddo e parmigiano grattugiato. Il risotto deve risultare cremoso e morbido, all'onda come si dice a Milano, e va servito subito.",
    ),
    (
        "it",
        "travel",
        "Le Dolomiti, nel nord-est dell'Italia, sono famose per le loro pareti di roccia chiara che al tramonto si colorano di rosa e di arancione. D'estate una fitta rete di sentieri e rifugi permette di camminare per giorni tra prati fioriti e laghi di montagna.\n\n"
        "Chi non ha molta esperienza può scegliere percorsi facili intorno ai passi, raggiungibili anche in autobus. Per le vie ferrate, invece, servono un'attrezzatura adeguata, una buona forma fisica e, se possibile, una guida alpina.\n\n"
        "In inverno la zona si trasforma in uno dei comprensori sciistici più grandi d'Europa. Molti visitatori, però, preferiscono le ciaspolate nei boschi silenziosi e le serate in baita davanti a un piatto di canederli.",
    ),
    (
        "it",
        "news",
        "Il consiglio comunale di San Vito al Borgo ha approvato ieri sera il nuovo piano per la mobilità, che prevede tre chilometri di piste ciclabili e una zona a traffico limitato nel centro storico. Le prime opere partiranno in autunno.\n\n"
        "Secondo il sindaco, l'obiettivo è rendere il paese più sicuro per i pedoni e ridurre il traffico davanti alle scuole nelle ore di punta. I commercianti del corso principale hanno chiesto però di mantenere alcuni parcheggi per il carico e lo scarico delle merci.\n\n"
        "Durante la seduta sono intervenuti anche diversi cittadini, che hanno chiesto più panchine e più alberi lungo il nuovo percorso. L'amministrazione ha promesso un incontro pubblico prima dell'inizio dei lavori.",
    ),
    (
        "pl",
        "news",
        "Rada gminy Zielona Dolina zdecydowała we wtorek o remoncie starej szkoły podstawowej, który ma rozpocząć się jeszcze w tym roku. Budynek zostanie ocieplony, a w salach lekcyjnych pojawią się nowe okna i nowe oświetlenie.\n\n"
        "Wójt gminy poinformował, że większą część kosztów pokryje dotacja z funduszy unijnych. Na czas prac uczniowie będą uczyć się w budynku domu kultury, do którego dowiezie ich bezpłatny autobus.\n\n"
        "Rodzice pytali podczas sesji przede wszystkim o bezpieczeństwo dzieci w drodze do szkoły. Radni obiecali, że przy głównej drodze powstanie nowe przejście dla pieszych z sygnalizacją świetlną.",
    ),
    (
        "pl",
        "recipe",
        "Pierogi ruskie to jedno z najbardziej lubianych dań kuchni polskiej. Farsz przygotowuje się z ugotowanych ziemniaków, twarogu i cebuli zeszklonej na maśle, doprawionych solą i pieprzem.\n\n"
        "Ciasto zagniata się z mąki, ciepłej wody, odrobiny oleju i szczypty soli, a następnie cienko rozwałkowuje. Szklanką wycina się krążki, na każdy nakłada się łyżeczkę farszu i dokładnie skleja brzegi.\n\n"
        "Pierogi gotuje się partiami w osolonej wodzie przez kilka minut od momentu wypłynięcia. Najlepiej smakują polane masłem ze smażoną cebulką, a wiele osób podaje je także ze śmietaną.",
    ),
    (
        "pl",
        "forum",
        "Cześć wszystkim, w tym roku pierwszy raz posadziłem pomidory na działce i liście zaczynają mi żółknąć od dołu. Czy ktoś wie, co może być przyczyną i czy da się jeszcze uratować rośliny?\n\n"
        "Najczęściej to po prostu brak nawożenia albo zbyt obfite podlewanie. Spróbuj podlewać rzadziej, ale porządnie, i zawsze bezpośrednio przy korzeniu, a nie po liściach.\n\n"
        "U mnie pomogło też ściółkowanie skoszoną trawą, bo ziemia dłużej trzyma wilgoć i nie pryska na liście podczas deszczu. Chore liście najlepiej od razu usunąć i nie wrzucać ich na kompost.",
    ),
    (
        "da",
        "travel",
        "Bornholm ligger midt i Østersøen og er kendt for sine klipper, rundkirker og lange sandstrande. Øen kan nås med færge, og mange turister tager cyklen med, fordi der findes gode cykelstier rundt om hele kysten.\n\n"
        "Om sommeren er de små havnebyer fulde af liv, og i røgerierne kan man smage den berømte røgede sild. Uden for sæsonen er der meget mere roligt, og mange af de lokale kunstnere holder åbent i deres værksteder.\n\n"
        "Hammershus, en stor borgruin på øens nordspids, er et af de mest besøgte steder i Danmark. Herfra er der en flot udsigt over havet, og på klare dage kan man se helt til Sverige.",
    ),
    (
        "da",
        "recipe",
        "Smørrebrød er en dansk klassiker, som især spises til frokost. Grundlaget er en tynd skive rugbrød med smør, og derefter lægges pålæg som sild, leverpostej, æg eller røget laks på brødet.\n\n"
        "Det vigtigste er, at pålægget er frisk, og at brødet ikke bliver for tykt. Til leverpostej hører typisk rødbeder og sprød bacon, mens sild ofte serveres med løg, kapers og en klat karrysalat.\n\n"
        "Mange familier samles om et stort frokostbord i julen, hvor der kan stå mere end ti forskellige slags smørrebrød. Man spiser normalt fisken først, derefter kødet og til sidst osten.",
    ),
    (
        "sv",
        "travel",
        "Allemansrätten gör det möjligt för alla att röra sig fritt i den svenska naturen, även på mark som ägs av någon annan. Man får vandra, cykla, plocka bär och svamp och tälta en natt, så länge man visar hänsyn mot markägaren och djurlivet.\n\n"
        "Det finns dock tydliga gränser. Man får inte gå över tomter nära bostadshus, inte skada växande träd och inte lämna skräp efter sig. Under torra perioder kan det också råda eldningsförbud i hela länet.\n\n"
        "Många turister blir förvånade över hur mycket frihet som ges, men systemet bygger på ansvar. Grundregeln är enkel: inte störa och inte förstöra.",
    ),
    (
        "sv",
        "notice",
        "Stadsbiblioteket i Åbacka har från och med den första september nya öppettider. Biblioteket är öppet måndag till torsdag mellan klockan tio och sju, fredag till klockan fem och lördag mellan elva och tre.\n\n"
        "Under hösten startar flera nya aktiviteter, bland annat sagostunder för de minsta barnen, en bokcirkel för vuxna och hjälp med datorer och mobiltelefoner för äldre. Alla aktiviteter är kostnadsfria, men till vissa behöver man anmäla sig i förväg.\n\n"
        "Lånetiden för böcker är fortfarande fyra veckor, och man kan låna om dem via webben eller i appen. Den som har frågor är välkommen att vända sig till personalen i informationsdisken.",
    ),
    (
        "af",
        "travel",
        "Die Karoo is 'n groot, droë gebied in die binneland van Suid-Afrika, bekend vir sy wye vlaktes, koppies en ongelooflike sterrehemel. Baie reisigers ry deur die Karoo op pad na die kus, maar dit is die moeite werd om 'n paar dae daar te bly.\n\n"
        "In die klein dorpies staan ou Kaaps-Hollandse huise langs stil strate, en die mense is vriendelik en gasvry. Op die plase kan besoekers skape sien, in die veld gaan stap en saans om die vuur sit.\n\n"
        "Die somer is baie warm en die winter se nagte kan yskoud wees. Daarom is die lente en die herfs die beste tye om die streek te besoek, veral wanneer die veld na reën skielik vol blomme staan.",
    ),
    (
        "af",
        "recipe",
        "Bobotie is 'n tradisionele Suid-Afrikaanse gereg van gemaalde vleis wat met kerrie, blatjang en rosyne gegeur word. Die vleis word saam met uie in 'n pan gebraai, en dan word 'n sny brood wat in melk geweek is, daarby gemeng.\n\n"
        "Die mengsel word in 'n oondbak geskep, en bo-oor word 'n sous van eiers en melk gegooi. 'n Paar lourierblare op die oppervlak gee die gereg sy kenmerkende geur en voorkoms.\n\n"
        "Bobotie word gewoonlik met geelrys en piesangskyfies bedien. Baie families het hul eie resep, en dit smaak dikwels nog beter as dit die volgende dag opgewarm word.",
    ),
    (
        "lb",
        "notice",
        "D'Gemeng Uewerbaach mécht hir Awunner drop opmierksam, datt d'Haaptstrooss wéinst Aarbechten un der Waasserleitung vum 3. bis den 21. Mäerz fir den Duerchgangsverkéier gespaart ass. Eng Ëmleedung ass iwwer de Bierg ausgeschëldert.\n\n"
        "D'Busse fueren an där Zäit eng aner Streck, an den Arrêt bei der Kierch gëtt provisoresch an d'Schoulstrooss verluecht. D'Awunner kënnen hir Haiser ëmmer erreechen, ausser un deenen zwee Deeg, wou d'Strooss nei asphaltéiert gëtt.\n\n"
        "D'Gemeng entschëllegt sech fir d'Ongemaach a seet alle Leit Merci fir hir Gedold. Weider Informatiounen fannt Dir um Pilier public virun der Gemeng.",
    ),
    (
        "lb",
        "news",
        "Dëse Weekend gëtt et am ganze Land méi waarm, an am Süden kënnen d'Temperaturen bis op zwanzeg Grad klammen. Ab Sonndeg den Owend kommen awer vum Westen hier nees Wolleken, an et kann op ville Plazen reenen.\n\n"
        "D'Baueren si frou iwwer de Reen, well d'Felder nom dréchene Wanter ganz dréche sinn. Och fir d'Bëscher ass et wichteg, datt et elo am Fréijoer genuch Waasser gëtt.\n\n"
        "Wien e Samschdeg eppes dobaussen ënnerhuele wëll, sollt dat also net op déi lescht Minutt verréckelen. Op der Musel fänkt och d'Saison fir d'Schëffer nees un, an déi éischt Tourë si scho gutt gebucht.",
    ),
    (
        "fy",
        "news",
        "Elk jier yn july en augustus komme tûzenen minsken nei de Fryske marren om it skûtsjesilen te besjen. De âlde frachtskippen, dy't eartiids brûkt waarden foar it ferfier fan turf en dong, sile dan tsjin inoar yn in wedstriid dy't twa wiken duorret.\n\n"
        "Elk skûtsje fertsjintwurdiget in doarp of stêd, en de skippers binne yn har eigen plak echte helden. Op it wetter en oan 'e wâl is de sfear geweldich, mei muzyk, iten en in soad fanatike supporters.\n\n"
        "Foar in protte Friezen is it skûtsjesilen mear as in sportwedstriid. It is in stik skiednis en identiteit dat se graach trochjouwe oan har bern en pakesizzers.",
    ),
    (
        "fy",
        "news",
        "Ferline sneon is yn it doarp Lytsewâld it nije doarpshûs iepene. Mear as twahûndert minsken kamen op de iepening ôf, en de fanfare spile de hiele middei yn 'e grutte seal.\n\n"
        "It âlde gebou wie te lyts en te kâld wurden, en nei jierren fan plannen meitsjen en jild sammeljen koe de ferbouwing ferline jier einlik begjinne. Frijwilligers út it doarp hawwe in grut part fan it wurk sels dien.\n\n"
        "Yn it nije doarpshûs is plak foar de toanielferiening, it koar, de bibleteek en in lyts kafee. It bestjoer hopet dat it gebou in plak wurdt dêr't jong en âld inoar moetsje.",
    ),
    (
        "cs",
        "news",
        "Obec Horní Lhota začne na jaře s rekonstrukcí návsi, která bude trvat přibližně šest měsíců. Vznikne nové dláždění, lavičky a dětské hřiště a vysadí se také několik nových stromů.\n\n"
        "Starostka obce uvedla, že většinu nákladů pokryje dotace z krajského rozpočtu. Během prací bude náves uzavřena pro auta a autobusová zastávka se dočasně přesune k hasičské zbrojnici.\n\n"
        "Obyvatelé mohou své připomínky k projektu posílat obecnímu úřadu až do konce měsíce. Výkres nové návsi je vystaven ve vývěsce u obchodu a také v místní knihovně.",
    ),
]
