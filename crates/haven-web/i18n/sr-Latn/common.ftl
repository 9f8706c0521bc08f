## Zajedničko za aplikaciju za zaposlene i portal.

skip-to-content = Preskoči na sadržaj
nav-label = Glavni meni
sign-in = Prijava
sign-out = Odjava
form-has-errors = Molimo ispravite sledeće
save = Sačuvaj
saved = Sačuvano.
back = Nazad
search = Pretraga
all = Sve
actions = Radnje

error-not-found-title = Stranica nije pronađena
error-not-found-body = Na ovoj adresi nema ničega ili nemate pravo da to vidite. Proverite adresu ili se vratite nazad.
error-forbidden-title = Nije dozvoljeno
error-forbidden-body = Vaš nalog ne može da otvori ovu stranicu niti da uradi ovo. Ako vam je potrebno za posao, obratite se administratoru.
error-csrf-title = Obrazac nije mogao da se pošalje
error-csrf-body = Obrazac je bio prestar ili je stigao sa drugog sajta. Vratite se, ponovo učitajte stranicu i pokušajte opet. Ništa nije sačuvano.
error-bad-request-title = Zahtev nije razumljiv
error-bad-request-body = Nešto u zahtevu nije bilo kako se očekuje. Vratite se i pokušajte ponovo.
error-too-many-title = Previše pokušaja
error-too-many-body = Sačekajte nekoliko minuta pre nego što pokušate ponovo.
error-too-large-title = Prevelik sadržaj
error-too-large-body = Ono što ste poslali veće je od onoga što Haven prihvata. Pokušajte sa manjom datotekom ili kraćim tekstom.
error-internal-title = Nešto nije u redu
error-internal-body = Haven nije mogao da završi ovo. Ništa od onoga što ste već sačuvali nije izgubljeno. Ako se ponovi, javite administratoru oznaku ispod.
error-correlation-label = Oznaka:
error-correlation = Oznaka: { $id }
error-home = Idi na početnu stranicu

## Provera polja.
error-required = Ovo polje je obavezno.
error-too-long = Predugačko je: najviše { $max } znakova.
error-control-characters = Sadrži znakove koji se ne mogu otkucati; otkucajte ponovo.
error-email-invalid = Unesite adresu e-pošte, na primer ime@primer.rs.
error-email-taken = Nalog sa ovom adresom e-pošte već postoji.
error-password-too-short = Lozinka mora imati najmanje { $min } znakova.
error-password-contains-email = Lozinka ne sme da sadrži vašu adresu e-pošte.
error-password-weak = Ova lozinka je previše česta ili laka za pogađanje. Nekoliko nepovezanih reči čini dobru lozinku.
error-password-mismatch = Dve lozinke nisu iste.
error-password-current-wrong = Trenutna lozinka nije tačna.
error-role-unknown = Nepoznata uloga.
error-roles-required = Izaberite bar jednu ulogu.
error-language-unknown = Izaberite jedan od jezika sa spiska.
error-last-admin = Ovo je jedini aktivni administrator; prvo nekog drugog postavite za administratora.
error-cannot-disable-self = Ne možete da onemogućite sopstveni nalog.
