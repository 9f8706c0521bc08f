## Shared by the staff application and the portal.

skip-to-content = Skip to content
nav-label = Main
sign-in = Sign in
sign-out = Sign out
form-has-errors = Please correct the following
save = Save
saved = Saved.
back = Back
search = Search
all = All
actions = Actions

error-not-found-title = Page not found
error-not-found-body = There is nothing at this address, or you may not see it. Check the address or go back.
error-forbidden-title = Not allowed
error-forbidden-body = Your account may not open this page or do this. If you need it for your work, ask an administrator.
error-csrf-title = The form could not be sent
error-csrf-body = The form was too old or came from another site. Go back, reload the page and try again. Nothing was saved.
error-bad-request-title = The request could not be understood
error-bad-request-body = Something in the request was not as expected. Go back and try again.
error-too-many-title = Too many attempts
error-too-many-body = Please wait a few minutes before trying again.
error-too-large-title = Too large
error-too-large-body = What you sent is larger than Haven accepts. Try a smaller file or a shorter text.
error-internal-title = Something went wrong
error-internal-body = Haven could not finish this. Nothing you had already saved is lost. If it happens again, tell your administrator the reference below.
error-correlation-label = Reference:
error-correlation = Reference: { $id }
error-home = Go to the start page

## Field validation.
error-required = This field is required.
error-too-long = This is too long: at most { $max } characters.
error-control-characters = This contains characters that cannot be typed; please retype it.
error-email-invalid = Enter an e-mail address such as name@example.org.
error-email-taken = An account with this e-mail address already exists.
error-password-too-short = The password must have at least { $min } characters.
error-password-contains-email = The password must not contain your e-mail address.
error-password-weak = This password is too common or too easy to guess. A few unrelated words make a good password.
error-password-mismatch = The two passwords are not the same.
error-password-current-wrong = Your current password is not right.
error-role-unknown = Unknown role.
error-roles-required = Choose at least one role.
error-language-unknown = Choose one of the languages in the list.
error-last-admin = This is the only active administrator; make someone else an administrator first.
error-cannot-disable-self = You cannot disable your own account.
