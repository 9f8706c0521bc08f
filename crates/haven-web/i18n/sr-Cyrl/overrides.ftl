## Explicit Serbian Cyrillic translations. Everything not listed here is transliterated from
## sr-Latn at start-up; add a message here only where the transliteration is wrong.

error-email-invalid = Унесите адресу е-поште, на пример ime@primer.rs.

## Cases: brand names of apps and codes stay in Latin letters.
app-Facebook = Facebook
app-Instagram = Instagram
app-WhatsApp = WhatsApp
app-Telegram = Telegram
app-FacebookMessenger = Facebook Messenger
app-Viber = Viber
app-SnapChat = Snapchat
app-Line = Line
app-4Sale = 4Sale
app-WeChat = WeChat
app-QQ = QQ
app-QZone = QZone
app-TikTok = TikTok
app-Twitter = Twitter (X)
error-currency-invalid = Унесите ознаку валуте, на пример EUR или RSD.
error-languages-invalid = Унесите двословне ознаке језика, на пример sr, en, de.
field-mc_countries = Укључене земље (кодови као RS, DE)
field-citizenship = Држављанство (код као RS)
field-languages = Језици (кодови као sr, en)
field-lx_currency = Валута (нпр. EUR, RSD)
case-document-hint = PDF, слике (PNG, JPEG, GIF, WebP, TIFF) и канцеларијски документи. Тип се чита из садржаја; програми се одбијају. Преузети документи се никада не отварају у прегледачу.
error-file-not-an-image = Фотографија мора бити слика (PNG, JPEG, GIF, WebP или TIFF).
error-file-type-refused = Садржај ове датотеке није PDF, слика ни канцеларијски документ.
court-figures-csv = Извоз у CSV
field-event_fine = Новчана казна (RSD)
proceeding-case-hint = Број случаја, нпр. SOS-2026-00042. Корисник случаја постаје оштећени.
error-case-number-invalid = Унесите број случаја, нпр. SOS-2026-00042.
desk-shortcuts = Тастери: Alt+P телефон, Alt+L провера броја, Alt+C категорије, Alt+U хитност, Alt+M сажетак, Alt+S чување, Alt+D чување нацрта (Alt+Shift у Firefox-у, Ctrl+Alt на Mac-у). Tab иде поље по поље.
desk-field-handle = Налог (Viber, WhatsApp, друштвене мреже)
channel-sms = SMS
channel-viber = Viber
channel-whatsapp = WhatsApp
heard-via-media = Штампа, радио, TV
error-note-too-long = Белешке могу имати највише { $max } KiB.
desk-export-hint = супервизори извозе резултате претраге као CSV или XLSX
