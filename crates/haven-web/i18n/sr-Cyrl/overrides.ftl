## Explicit Serbian Cyrillic translations. Everything not listed here is transliterated from
## sr-Latn at start-up; add a message here only where the transliteration is wrong.

error-email-invalid = Унесите адресу е-поште, на пример ime@primer.rs.
