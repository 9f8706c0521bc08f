## Aplikacija za zaposlene.

nav-home = Početna
nav-institutions = Institucije
nav-users = Zaposleni
nav-profile = Moj nalog

role-admin = Administrator
role-supervisor = Supervizor
role-counsellor = Savetnik
role-case_worker = Voditelj slučaja
role-lawyer = Advokat
role-fundraiser = Prikupljanje sredstava
role-analyst = Analitičar
role-portal_editor = Urednik portala

status-invited = Pozvan
status-active = Aktivan
status-disabled = Onemogućen

field-display-name = Ime
field-email = Adresa e-pošte
field-password = Lozinka
field-new-password = Nova lozinka
field-password-again = Ponovite novu lozinku
field-current-password = Trenutna lozinka
field-organisation = Organizacija
field-roles = Uloge
field-status = Status
field-language = Jezik

password-hint = Najmanje 12 znakova. Nekoliko nepovezanih reči lako se pamti, a teško pogađa.
password-change-title = Promena lozinke
password-change-submit = Promeni lozinku
password-changed = Lozinka je promenjena. Odjavljeni ste sa svih drugih uređaja.

link-invalid-title = Ovaj link više ne važi
link-used = Ovaj link je već iskorišćen. Svaki link važi samo jednom.
link-expired = Ovom linku je istekao rok.
link-revoked = Ovaj link je povučen.
link-unknown = Ovaj link nije ispravan. Proverite da li ste ga kopirali celog.
link-invalid-what-now = Ako i dalje treba da postavite lozinku, zatražite novi link od administratora. Ako već imate nalog, prijavite se.
go-to-sign-in = Idi na prijavu
link-created-title = Link je napravljen
link-label = Link
link-expires = Važi jednom, do { $time }.
link-shown-once = Kopirajte ga sada i predajte osobi bezbednim putem: neće biti ponovo prikazan.
invite-created = Nalog je napravljen. Dajte osobi ovaj link da izabere lozinku i prijavi se.
reset-created = Dajte osobi ovaj link da izabere novu lozinku. Trenutna lozinka važi dok to ne uradi.

setup-title = Podešavanje Havena
setup-intro = Pravite prvi administratorski nalog. Administratori pozivaju ostale zaposlene.
setup-submit = Napravi administratorski nalog
invite-title = Dobro došli u Haven
invite-intro = Izaberite lozinku za svoj nalog.
invite-submit = Postavi lozinku i prijavi se
reset-title = Izaberite novu lozinku
reset-intro = Administrator je zatražio promenu vaše lozinke. Izaberite novu.
reset-submit = Postavi lozinku i prijavi se

signed-out = Odjavili ste se.
sign-in-failed = Adresa e-pošte ili lozinka nije tačna.

home-title = Početna
home-greeting = Zdravo, { $name }
home-staff-count = { $count ->
    [one] { $count } nalog zaposlenih
    [few] { $count } naloga zaposlenih
   *[other] { $count } naloga zaposlenih
}
home-invited-count = { $count ->
    [one] { $count } poziv još nije prihvaćen
    [few] { $count } poziva još nisu prihvaćena
   *[other] { $count } poziva još nije prihvaćeno
}
home-institutions-hint = Policija, tužilaštva, sudovi, inspekcije, centri za socijalni rad i partneri.
home-sessions-count = { $count ->
    [one] Prijavljeni ste na { $count } uređaju.
   *[other] Prijavljeni ste na { $count } uređaja.
}

users-title = Zaposleni
users-empty = Još nema naloga. Pozovite kolege.
user-invite = Pozovi kolegu
user-new-title = Poziv kolegi
user-new-intro = Osoba dobija jednokratni link da izabere lozinku. Dodelite samo uloge koje su potrebne za njen posao.
user-invite-submit = Napravi nalog i link za poziv
user-title = Nalog zaposlenog
user-created = Napravljen { $time }
user-access = Pristup
user-reset-hint = Jednokratni link omogućava osobi da izabere novu lozinku.
user-new-invite-link = Novi link za poziv
user-reset-password = Promeni lozinku
user-enable = Omogući nalog
user-disable-hint = Osoba više ne može da se prijavi; sve njene sesije se odmah završavaju.
user-disable = Onemogući nalog

sessions-title = Aktivne sesije
sessions-hint = Gde ste trenutno prijavljeni. Završite svaku koju ne prepoznajete, pa promenite lozinku.
sessions-empty = Nema otvorenih sesija.
session-started = Početak
session-last-seen = Poslednja aktivnost
session-address = Adresa
session-browser = Pregledač
session-this-one = Ova sesija
session-end = Završi

profile-title = Moj nalog

institutions-title = Institucije i partneri
institutions-count = Prikazano { $shown } od { $total }.
institutions-empty = Ništa ne odgovara pretrazi. Pokušajte sa manje reči ili drugom vrstom.
institution-name = Naziv
institution-kind = Vrsta
institution-area = Područje
institution-phone = Telefon
institution-kind-victim_protection_centre = Centar za zaštitu žrtava trgovine ljudima
institution-kind-ministry = Ministarstvo
institution-kind-labour_inspectorate = Inspekcija rada
institution-kind-market_inspectorate = Tržišna inspekcija
institution-kind-police = Policija
institution-kind-border_police = Granična policija
institution-kind-prosecutor = Javno tužilaštvo
institution-kind-court = Sud
institution-kind-foreign_affairs = Spoljni poslovi, ambasada, konzulat
institution-kind-social_work_centre = Centar za socijalni rad
institution-kind-school = Škola
institution-kind-health_centre = Zdravstvena ustanova
institution-kind-employment_service = Služba za zapošljavanje
institution-kind-partner_ngo = Partnerska organizacija
institution-kind-hotline_116000 = Linija 116 000 u inostranstvu
institution-kind-interpol = Interpol
institution-kind-other = Ostalo

## Keys, people and the audit log

nav-audit = Dnevnik aktivnosti
audit-title = Dnevnik aktivnosti
audit-intro = Svaka prijava, odbijanje i izmena, najnovije prvo. Svaki zapis je heš-vrednošću vezan za prethodni, pa se izmenjen, uklonjen ili premešten zapis otkriva.
audit-verify = Proveri lanac
audit-verify-ok = Lanac je ispravan: provereno je { $entries } zapisa, do zapisa { $head }.
audit-verify-broken = Lanac je prekinut kod zapisa { $seq }: { $reason } Odmah obavestite administratora i sačuvajte kopiju baze podataka u ovom stanju.
audit-break-missing = zapis nedostaje.
audit-break-does-not-follow = ne nastavlja se na prethodni zapis (zapisi su premešteni ili zamenjeni).
audit-break-changed = sadržaj mu je izmenjen.
audit-break-tail-removed = zapisi su uklonjeni sa kraja.
audit-break-head-differs = poslednji zapis se razlikuje od zabeleženog kraja lanca.
audit-break-after-head = zapisi su dodati posle zabeleženog kraja lanca.
audit-filter-action = Radnja počinje sa
audit-filter-actor = Zaposleni
audit-filter-record = Oznaka zapisa
audit-filter-submit = Prikaži
audit-empty = Nijedan zapis ne odgovara.
audit-newest = Najnoviji zapisi
audit-older = Stariji zapisi
audit-time = Vreme
audit-who = Ko
audit-action = Radnja
audit-outcome = Ishod
audit-record = Zapis
audit-address = Adresa
audit-outcome-ok = Izvršeno
audit-outcome-denied = Odbijeno
audit-outcome-failed = Neuspelo
audit-actor-system = Haven (sistem)
audit-actor-anonymous = Neprijavljen korisnik
audit-actor-token = { $name } (API token)
audit-actor-unknown = Nepoznat nalog { $id }
error-audit-actor-invalid = Izaberite zaposlenog sa spiska.
error-audit-record-invalid = Ovo nije oznaka zapisa; kopirajte je iz dnevnika aktivnosti.
user-activity-title = Nedavne aktivnosti
user-activity-all = Sve aktivnosti ovog naloga u dnevniku aktivnosti
error-country-unknown = Izaberite državu sa spiska.
error-birth-year-out-of-range = Godina rođenja mora biti između { $min } i { $max }.
## Second factor and API tokens

error-unauthorized-title = Niste prijavljeni
error-unauthorized-body = Za ovo je potreban važeći API token ili prijava. Token je možda nepoznat, istekao ili opozvan.

sign-in-paused-hint = Posle više neuspelih pokušaja prijava na nalog se neko vreme ne prihvata; u tom slučaju sačekajte i pokušajte kasnije.

enrol-title = Podešavanje drugog faktora
enrol-intro = Svaki nalog u Havenu štiti drugi faktor: šestocifreni kod iz aplikacije na vašem telefonu, koji se menja na svakih 30 sekundi. Podešava se jednom.
enrol-step-app = Instalirajte aplikaciju za autentifikaciju na telefon, ako je nemate (na primer FreeOTP, Aegis ili Google Authenticator).
enrol-step-scan = U aplikaciji dodajte nalog i skenirajte ovaj kod.
enrol-qr-label = QR kod za aplikaciju za autentifikaciju
enrol-step-manual = Ako ne možete da ga skenirate, unesite ovaj ključ u aplikaciju:
enrol-manual-settings = Vremenski, 6 cifara, na svakih 30 sekundi.
enrol-step-code = Unesite šestocifreni kod koji aplikacija sada prikazuje
enrol-submit = Potvrdi i nastavi

second-factor-title = Drugi faktor
second-factor-intro = Otvorite aplikaciju za autentifikaciju i unesite šestocifreni kod koji prikazuje za Haven.
second-factor-code = Kod
second-factor-recovery-hint = Bez telefona unesite jedan od svojih kodova za oporavak. Svaki važi jednom.
second-factor-submit = Nastavi
second-factor-cancel = Odustani i odjavi se
second-factor-code-wrong = Ovaj kod nije tačan. Proverite aplikaciju i unesite kod koji sada prikazuje.
second-factor-code-used = Ovaj kod je već iskorišćen. Sačekajte sledeći kod i unesite njega.
second-factor-locked = Previše pogrešnih kodova. Pokušajte kasnije.

recovery-codes-title = Kodovi za oporavak
recovery-codes-intro-enrolled = Drugi faktor je podešen. Ako izgubite telefon, možete se prijaviti jednim od ovih kodova za oporavak; svaki važi jednom.
recovery-codes-intro-regenerated = Ovo su vaši novi kodovi za oporavak; stari više ne važe. Svaki važi jednom.
recovery-codes-once = Zapišite ih ili odštampajte sada i čuvajte na sigurnom mestu, odvojeno od telefona: neće biti ponovo prikazani.
recovery-codes-saved = Sačuvao/la sam ih

second-factor-section = Drugi faktor
second-factor-on-since = Podešen { $time }.
second-factor-off = Još nije podešen: podesićete ga pri sledećoj prijavi.
recovery-codes-left = { $count ->
    [one] Preostao je { $count } kod za oporavak.
    [few] Preostala su { $count } koda za oporavak.
   *[other] Preostalo je { $count } kodova za oporavak.
}
recovery-codes-regenerate-code = Kod iz aplikacije za autentifikaciju
recovery-codes-regenerate-hint = Novi kodovi zamenjuju stare, a vi ste odjavljeni sa svih drugih uređaja.
recovery-codes-regenerate = Napravi nove kodove za oporavak

tokens-section = API tokeni
tokens-hint = Token omogućava vašim skriptama da koriste Haven API u vaše ime, samo sa dozvolama koje mu date. Čuvajte ga tajnim kao lozinku.
tokens-list-title = Vaši API tokeni
token-name = Naziv
token-days = Važi (dana, od 1 do 365)
token-scopes = Dozvole
token-read-only = Samo čitanje (token može da gleda, nikad da menja)
token-read-only-short = samo čitanje
token-create = Napravi token
token-created = Napravljen
token-expires-at = Ističe
token-last-used = Poslednja upotreba
token-never-used = Nikad
token-revoke = Opozovi
token-status-active = Aktivan
token-status-expired = Istekao
token-status-revoked = Opozvan
token-name-invalid = Dajte tokenu naziv od najviše 80 znakova, da znate čemu služi.
token-days-invalid = Unesite broj dana od 1 do 365.
token-scopes-required = Izaberite bar jednu dozvolu.
token-scope-not-yours = Token može imati samo dozvole koje ima vaš nalog.
token-revoked = Token je opozvan; više ne radi.
token-created-title = API token je napravljen
token-created-intro = Koristite ga u zaglavlju Authorization zahteva vaše skripte: Authorization: Bearer, pa token.
token-label = Token
token-expires = Važi do { $time }, osim ako ga opozovete.
token-shown-once = Kopirajte ga sada i čuvajte na sigurnom: neće biti ponovo prikazan.

permission-use_staff_app = Korišćenje Havena
permission-manage_users = Upravljanje nalozima zaposlenih
permission-view_audit = Čitanje revizorskog dnevnika
permission-view_institutions = Čitanje imenika institucija
permission-manage_institutions = Izmene imenika institucija

status-locked = Zaključan
home-locked-count = { $count ->
    [one] { $count } nalog je zaključan posle neuspelih prijava.
    [few] { $count } naloga su zaključana posle neuspelih prijava.
   *[other] { $count } naloga je zaključano posle neuspelih prijava.
}
user-locked-until = Zaključan posle neuspelih prijava do { $time }.
user-unlock = Otključaj
user-was-unlocked = Nalog je otključan.
user-second-factor-off = Nije podešen: osoba ga podešava pri sledećoj prijavi.
user-reset-second-factor-hint = Za osobu koja je izgubila telefon i kodove za oporavak: drugi faktor se uklanja i osoba se odjavljuje svuda; ponovo ga podešava posle lozinke pri sledećoj prijavi.
user-reset-second-factor = Poništi drugi faktor
user-second-factor-was-reset = Drugi faktor je poništen. Osoba ga ponovo podešava pri sledećoj prijavi.
