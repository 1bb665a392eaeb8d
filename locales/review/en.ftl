# testimony: the reviewer interface's source catalogue, in English.
# Every word of the reviewers' and administrators' pages comes from here
# (src/i18n.rs, `Tr::review`); the witness's pages have their own
# catalogues in locales/. Translations of the review side are not started:
# every language gets these English pages for now.
#
# Ids ending in -html are HTML: their own markup is kept (a <bdi> around a
# name, a <span id> around a count the tests read) and their arguments are
# escaped. Every other message is plain text. Names, numbers and dates are
# arguments ({ $name }), never pieced together around a message.

## Frame (every page)

site-name = testimony review
skip-to-content = Skip to the content
nav-label = Review
nav-statements = Statements
nav-desks = Desks
nav-filed = Filed by me
nav-statistics = Statistics (CSV)
nav-accounts = Accounts
nav-partners = Partners
nav-audit = Audit log
nav-sign-out = Sign out
pages-label = Pages
pages-newer = Newer
pages-older = Older
badge-new = new
badge-example = Example
screen-overdue = Safety screen overdue
screen-was-due-html = (was due <bdi>{ $day }</bdi>)
screen-due-html = Safety screen due <bdi>{ $day }</bdi>
time-utc = Time (UTC)
outcome = Outcome

## Errors and refusals shown on a page of their own

message-title = Notice
message-back = Back
not-found = There is nothing here.
error-failed = Something went wrong.
error-failed-nothing-changed = Something went wrong; nothing was changed.
error-audit-unavailable = The audit log cannot be written, so nothing was shown or changed. Tell an administrator.
error-disk-full = The server's disk is nearly full, so nothing was changed. Tell an administrator; it works again as soon as space is freed.
error-admin-audit-unavailable = The audit log cannot be written, so nothing was changed.
error-admin-disk-full = The server's disk is nearly full, so nothing was changed. It works again as soon as space is freed.
server-busy = The server is busy. Try again in a minute.
form-too-large = That form was too large.
form-malformed = That form was not filled in as expected.
form-expired = This form has expired or did not come from this site, so nothing was changed. Reload the page and try again.

## Sign-in

login-title = Sign in
login-username = Username
login-password = Password
login-code = Code from your authenticator app
login-submit = Sign in
login-refused = The username, password or code is not right.
login-incomplete = Fill in the username, password and code.
login-throttled = Too many failed attempts. Try again in { $minutes ->
    [one] { $minutes } minute
   *[other] { $minutes } minutes
}.
login-unavailable = Signing in is not possible right now. Try again in a minute.

## List of statements

list-title = Statements
list-no-desk = You are not a member of any desk, so there are no statements you can read. A member of a desk can grant it to you.
list-building = Opening your desks: { $done } of { $total } statements decrypted. This page refreshes by itself.
list-screen-overdue = { $count ->
    [one] { $count } statement has
   *[other] { $count } statements have
} not had the safety screen within 48 hours.
list-screen-overdue-link = List them, longest waiting first
list-search = Search
list-search-submit = Show
list-filters = Filters
list-filter-any = Any
list-filter-state = State
list-filter-screen = Safety screen (first read within 48 hours)
list-filter-screen-pending = Not screened yet (oldest first)
list-filter-screen-overdue = Overdue (oldest first)
list-filter-priority = Priority
list-filter-flag = Safety flag
list-filter-role = Witness role
list-filter-community = Community
list-filter-desk = Desk
list-filter-desk-all = All my desks
list-filter-label = Label (or namespace, like act:medical)
list-filter-language = Statement language
list-filter-files = Has files
list-filter-mine = Assigned to me
list-filter-apply = Apply filters
list-counts-label = Statements by state
list-count-in-state = { $state }: { $count }
list-matching = { $count ->
    [one] { $count } statement
   *[other] { $count } statements
} · page { $page } of { $pages }
list-none = No statements match.
list-col-received = Received
list-col-statement = Statement
list-col-state = State
list-col-priority = Priority
list-col-flags = Flags
list-col-language = Language
list-col-role = Witness role
list-col-files = Files
list-col-channel = Channel
list-content-warning = Content warning: sexual violence (show the first line)
list-no-text = No written statement

## Statement

statement-title = Statement { $id }
statement-heading-html = Statement <code class="id" title="{ $id }">{ $short-id }</code>
statement-example-html = An example made up by <code>testimony demo</code> to show the workspace: not testimony, and not about anyone real.
statement-received = Received
statement-state = State
statement-priority = Priority
statement-flags = Flags
statement-assigned-to = Assigned to
statement-duplicate-of = Duplicate of
statement-labels = Labels
statement-full-id = Full id
statement-withdrawn = The witness withdrew this statement; its content has been deleted.
statement-content-warning = Content warning: this statement describes sexual violence.
statement-narrative = Narrative
# A question asked more than once on the form (the second place, say).
statement-field-slot = { $label } ({ $slot })
# A checkbox the witness ticked.
statement-field-checked = yes
statement-files = Files
statement-no-files = No files.
statement-file-name = Name (as sent)
statement-file-type = Declared type
statement-file-bytes = Bytes
statement-file-sha256 = SHA-256
statement-file-received = Received
statement-file-choice = Witness's choice
statement-file-download = Download
statement-file-metadata-warning = The original may carry place and time metadata.
statement-file-original = original
statement-file-clean-copy = cleaned copy
statement-file-with-statement = with the statement
statement-file-from-addition = addition { $sequence } · { $day }
statement-file-added-later = added later (no signed proof)
statement-consent = Consent
statement-consent-scope = Scope
statement-consent-recipient = Recipient
statement-consent-answer = Answer
statement-consent-granted = Granted
statement-consent-revoked = Revoked
statement-messages = Messages
statement-no-messages = No messages.
statement-from-reviewer = Reviewer
statement-from-witness = Witness
# After a witness's message that came with files.
statement-thread-files-added = [files added: { $files }]
statement-notes = Reviewer notes
statement-no-notes = No notes yet.
statement-actions-label = What reviewers decide
statement-history = History
statement-history-who = Who
statement-history-what = What

## Statement: what reviewers decide

triage-title = Triage
triage-state = Workflow state
triage-reason = Reason (needed for Security review, Out of scope, On hold)
triage-duplicate-of = Original statement (for Duplicate)
triage-set-state = Set state
triage-priority = Priority
triage-flags = Safety flags
triage-labels = Labels (space-separated, namespaced: community:uyghur act:medical:ultrasound region:xinjiang year:2018)
triage-assigned-to = Assigned to
triage-nobody = Nobody
triage-save = Save triage
evaluation-title = Evaluation
evaluation-not-judged = Not judged
evaluation-why = Why
evaluation-source-reliability = Source reliability (never "unreliable" just because a witness is new)
evaluation-credibility = Information credibility (1 confirmed by other sources … 6 cannot be judged)
evaluation-corroboration = Corroboration
evaluation-corroborated-by = Independent statements (ids, space-separated)
evaluation-violation-status = Violation status
evaluation-verification = Verification
evaluation-publication = Publication decision (the witness's consent allows up to: { $widest })
evaluation-not-decided = Not decided
evaluation-save = Save evaluation
reply-title = Reply to the witness
reply-help = The witness reads replies with their receipt. Never ask for identifying details here.
reply-message = Message
reply-send = Send reply
note-title = Add a note
note-label = Note (sealed to the desk)
note-add = Add note
move-title = Move to another desk
move-desk = Desk
move-submit = Move (everything is sealed anew to that desk)
share-title = Share with a partner
share-no-partners = No partners are registered.
share-partner = Partner
share-level = Level
share-anonymised = Anonymised
share-with-identity = With identity
share-submit = Make a sealed case bundle
action-unknown-value = Unknown value for { $field }.

## Why the case layer refused a change

case-write-something = Write something first.
case-text-too-long = That is too long (5,000 characters at most).
case-withdrawn = The witness withdrew this statement; it can no longer be changed.
case-choose-state = Choose one of the workflow states. (Withdrawal is the witness's to make.)
case-reason-needed = This state needs a short reason.
case-reason-too-long = The reason is too long.
case-duplicate-target = A duplicate must point to another statement you can read (its id).
case-state-needs-sharing-consent = “{ $state }” means passing the statement on, and the witness did not consent to sharing with partners or official bodies.
case-choose-priority = Choose a priority.
case-unknown-flag = Unknown safety flag.
case-label-not-namespaced = Labels are namespaced, like act:medical:ultrasound or region:xinjiang; { $label } is not.
case-assign-members-only = Statements can only be assigned to members of their desk.
case-credibility-range = Credibility is 1 (confirmed by other sources) to 6 (cannot be judged).
case-corroboration-links = Corroboration links must be ids of other statements you can read.
case-justification-too-long = A justification is too long.
case-publication-wider = The witness's consent allows publication up to “{ $widest }”; “{ $wanted }” is wider.
case-choose-desk = Choose a desk.
case-desk-without-key = That desk has no key.
case-move-members-only = You can only move a statement to a desk you are a member of.
case-choose-partner = Choose a registered partner.
case-choose-level = Choose anonymised or with identity.
case-not-exported-no-consent = Not exported: the witness did not consent to sharing with partners.
case-not-exported-level = Not exported: the witness consented to sharing with partners only { $level ->
    [anonymised] anonymised
    [with_identity] with identity
   *[other] { $level }
}.
case-moved-meanwhile = The statement was moved to another desk meanwhile; nothing was changed.
case-withdrawn-meanwhile = The witness withdrew this statement meanwhile; nothing was changed.
case-changed-while-moving = the statement changed while it was being moved; try again
# The witness's own changes (their pages show a message of their own; this
# text is for the server's log).
case-withdrawn-before = the statement was withdrawn
case-moved-send-again = the statement was moved meanwhile; please send the files again
case-unchanged = nothing was changed
storage-statement-kept-changing = the statement kept changing; try again
storage-account-kept-changing = the account kept changing; try again

## Passwords (your account, an invitation; the command line prints them too)

password-empty = the password is empty
password-too-short = the password is too short: use at least { $min } characters (a few words make a good one)
password-too-long = the password is longer than { $max } characters
password-too-easy = this password is too easy to guess ({ $hint }); a few unrelated words make a strong one
password-hint-guessed-quickly = it would be guessed quickly
password-hint-straight-rows = Straight rows of keys are easy to guess.
password-hint-keyboard-patterns = Short keyboard patterns are easy to guess.
password-hint-repeats = Repeats like "aaa" are easy to guess.
password-hint-repeated-sequences = Repeats like "abcabcabc" are only slightly harder to guess than "abc".
password-hint-top-10 = This is a top-10 common password.
password-hint-top-100 = This is a top-100 common password.
password-hint-common = This is a very common password.
password-hint-similar-to-common = This is similar to a commonly used password.
password-hint-sequences = Sequences like abc or 6543 are easy to guess.
password-hint-recent-years = Recent years are easy to guess.
password-hint-single-word = A word by itself is easy to guess.
password-hint-dates = Dates are often easy to guess.
password-hint-names = Names and surnames by themselves are easy to guess.
password-hint-common-names = Common names and surnames are easy to guess.

## Statements I filed

filed-title = Filed by me
filed-heading = Statements I filed
filed-new = File a statement for a witness
filed-none = You have not filed any statement.
filed-col-received = Received
filed-col-statement = Statement
filed-col-state = State

## Your account

account-title = Your account
account-sign-ins = Recent sign-ins
account-sign-in-result = Result
account-signed-in = Signed in
account-sign-in-failed = failed
account-sign-ins-help = A failed sign-in you did not make means someone is trying your account: tell an administrator.
account-change-password = Change your password
account-current-password = Current password
account-new-password = New password (at least 12 characters; a few unrelated words work well)
account-new-password-again = New password again
account-change-password-submit = Change password
account-passwords-differ = The two new passwords are not the same.
account-record-unreadable = Your account record cannot be read.
account-current-password-wrong = Your current password is not right.
account-password-changed = Your password was changed. Your desks are as they were, and your other sessions were signed out.
account-password-not-changed = Your password could not be changed; the old one still works.

## Accounts (administrators)

accounts-title = Accounts
accounts-unknown-today = Failed sign-ins today under names that are not accounts: { $count }
accounts-col-name = Name
accounts-col-role = Role
accounts-col-desks = Desks
accounts-col-since = Since
accounts-col-state = State
accounts-col-actions = Actions
accounts-you = you
accounts-disabled = Disabled
accounts-active = Active
accounts-totp-pending = Authenticator to set up
accounts-reset-totp = Reset authenticator
accounts-enable = Enable
accounts-disable = Disable
accounts-invitations = Open invitations
accounts-invitation-html = <bdi>{ $name }</bdi> ({ $role })
accounts-invite = Invite someone
accounts-invite-name = Account name
accounts-invite-role = Role
accounts-invite-submit = Make an invitation link
accounts-invite-invalid = Give a valid name (a-z, 0-9, . _ -) and a role.
accounts-invited = Invitation for { $name } made. Send the link below over a safe channel; it works once, for { $hours } hours, and is not shown again.
accounts-now-disabled = { $name } is disabled and signed out everywhere.
accounts-now-enabled = { $name } is enabled again.
accounts-totp-reset = { $name } will set up a new authenticator at the next sign-in.
admin-account-exists = An account named { $name } already exists.
admin-cannot-disable-self = You cannot disable your own account.
admin-no-such-account = There is no such account.
admin-password-changed-meanwhile = the password changed meanwhile; enrol again

## Desks

desks-title = Desks
desks-members = Members:
desks-generations = key generations: { $count }
desks-you-are-member = you are a member
desks-grant-to = Grant this desk to
desks-grant = Grant
desks-revoke-from = Revoke from
desks-rotate = Also start a new key for future statements
desks-revoke = Revoke
desks-new = New desk
desks-name = Name
desks-create = Create desk
desks-name-missing = Give the desk a name.
desks-created-html = Desk “<bdi>{ $name }</bdi>” created; you are its first member.
desks-choose-account = Choose an account.
desks-granted = { $name } can now read this desk's statements.
desks-revoked = { $name } can no longer open this desk's keys.
desks-revoked-rotated = { $name } can no longer open this desk's keys. New statements will be sealed to a new key they never had.
desks-revoked-not-rotated = { $name } can no longer open this desk's keys. The key could not be rotated; try again.
desks-revoke-incomplete = { $name }: the change was not completed. The key was not rotated: the audit log cannot be written.

## Partners

partners-title = Partners
partners-intro = Case bundles for a partner are sealed to the partner's own age key; only they can open them, and only when the witness consented.
partners-col-name = Name
partners-col-key = Key
partners-col-since = Since
partners-register = Register a partner
partners-name = Name
partners-key = Their age public key (age1…)
partners-register-submit = Register
partners-key-invalid = The partner's key must be an age recipient (age1…).
partners-name-missing = Give the partner's name.
partners-added-html = <bdi>{ $name }</bdi> can now receive case bundles.

## Joining: an invitation, an authenticator

invitation-title = Join
invitation-heading-html = Set up your account <bdi>{ $name }</bdi>
invitation-intro = Your password also protects the keys to the statements you will read: nobody can reset it for you. At least 12 characters; a few unrelated words work well.
invitation-password = Password
invitation-password-again = Password again
invitation-continue = Continue
invitation-gone = This invitation does not exist or has expired. Ask for a new one.
invitation-passwords-differ = The two passwords are not the same.
invitation-step-expired = This step has expired. Open the invitation link again.
invitation-ready = Your account is ready. Sign in with your password and a code. A desk member will give you access to their desk.
enrol-title = Authenticator
enrol-heading = Set up your authenticator
enrol-scan = Scan this code with an authenticator app (or type the secret by hand), then enter the six digits it shows.
enrol-secret = Secret:
enrol-account-html = Account <bdi>{ $name }</bdi>
enrol-code = Code
enrol-confirm = Confirm
enrol-secret-unshowable = The authenticator secret could not be shown.
enrol-code-wrong = That code is not right. Try the current one.

## Audit log (administrators)

audit-title = Audit log
audit-chain-broken = Chain: NOT INTACT: { $why }
audit-tampered = the audit log has been tampered with at { $where }
audit-torn = the audit log ends in a torn record at { $where }
audit-unreadable = cannot read the audit log { $path }: { $error }
audit-chain-intact = Chain: intact. Every record follows the one before it.
audit-chain-intact-unsigned = Chain: intact. Every record follows the one before it; the last { $count ->
    [one] { $count } record is
   *[other] { $count } records are
} not yet covered by a signed checkpoint (the server signs hourly and when it stops).
audit-count-records = Records in the log
audit-count-entries = Entries
audit-count-checkpoints = Signed checkpoints
audit-latest-checkpoint = Latest signed checkpoint (copy it off this server daily)
audit-filter-actor = Actor
audit-filter-event = Event (or its start, like sign_in)
audit-filter-object = Object (full id or name)
audit-filter-day = Day (YYYY-MM-DD)
audit-filter = Filter
audit-show-all = Show all
audit-matching-filtered-html = <span id="count-matching">{ $matching }</span> of { $records } { $records ->
    [one] record
   *[other] records
} match (<span id="count-matching-entries">{ $entries }</span> { $entries ->
    [one] entry
   *[other] entries
}, <span id="count-matching-checkpoints">{ $checkpoints }</span> { $checkpoints ->
    [one] checkpoint
   *[other] checkpoints
}), newest first · page { $page } of { $pages }
audit-matching-all-html = <span id="count-matching">{ $matching }</span> { $matching ->
    [one] record
   *[other] records
} (<span id="count-matching-entries">{ $entries }</span> { $entries ->
    [one] entry
   *[other] entries
}, <span id="count-matching-checkpoints">{ $checkpoints }</span> { $checkpoints ->
    [one] checkpoint
   *[other] checkpoints
}), newest first · page { $page } of { $pages }
audit-col-actor = Actor
audit-col-event = Event
audit-col-object = Object

## Names of the codes (src/case/names.rs): workflow states

state-received = Received
state-safety_screen = Safety screen
state-needs_translation = Needs translation
state-in_review = In review
state-needs_follow_up = Needs follow-up
state-peer_review = Peer review
state-finalized = Finalized
state-referred = Referred
state-closed = Closed
state-duplicate = Duplicate
state-withdrawn = Withdrawn
state-out_of_scope = Out of scope
state-on_hold = On hold
state-security_review = Security review

## Names of the codes: priorities and safety flags

priority-urgent = Urgent
priority-high = High
priority-normal = Normal
priority-low = Low
flag-risk_to_witness = Risk to witness
flag-family_in_prc = Family in the PRC
flag-transnational_repression = Transnational repression
flag-deportation_risk = Deportation risk
flag-minor_involved = Minor involved
flag-sexual_violence = Sexual violence
flag-graphic_media = Graphic media
flag-perpetrator_named = Perpetrator named
flag-insider_source = Insider source

## Names of the codes: how the witness knows, who was affected
## (a reviewer's short words; the witness's own are in locales/en.ftl)

witness-role-detained_self = Detained (self)
witness-role-witnessed_others = Detained with others (saw them)
witness-role-family_or_friend = Family or friend
witness-role-health_worker = Health worker
witness-role-security_worker = Police, security or camp staff
witness-role-transplant = Transplant recipient or arranger
witness-role-other = Other (journalist, researcher, intermediary)
community-falun_gong = Falun Gong practitioners
community-uyghur = Uyghur
community-kazakh = Kazakh
community-kyrgyz = Kyrgyz
community-hui = Hui
community-uzbek_other_turkic = Uzbek or other Turkic Muslim
community-tibetan = Tibetan
community-christian = Christian
community-han_prisoner_of_conscience = Han Chinese prisoner of conscience
community-ordinary_prisoner = Ordinary or death-row prisoner
community-other = Other
community-prefer_not = Prefers not to say

## Names of the codes: the evaluation's scales

reliability-highly_reliable = Highly reliable
reliability-likely_reliable = Likely reliable
reliability-unsure = Unsure
reliability-likely_unreliable = Likely unreliable
reliability-highly_unreliable = Highly unreliable
reliability-unknown = Unknown
corroboration-uncorroborated = Uncorroborated
corroboration-partially = Partially corroborated
corroboration-corroborated = Corroborated
corroboration-contradicted = Contradicted
violation-confirmed = Confirmed
violation-likely = Likely
violation-possible = Possible
violation-unlikely = Unlikely
violation-unknown = Unknown
verification-reported = Reported
verification-partially_verified = Partially verified
verification-corroborated = Corroborated
verification-documented = Documented
publication-internal_only = Internal only
publication-do_not_publish = Do not publish
publication-aggregate_only = Aggregate only
publication-anonymised = Anonymised
publication-attributed = Attributed

## Names of the codes: accounts, channels, consent, files

account-role-admin = Administrator
account-role-reviewer = Reviewer
account-role-investigator = Investigator
channel-web = Web form
channel-assisted = Assisted intake
consent-scope-store_and_review = Store and review
consent-scope-share = Share
consent-scope-aggregate_statistics = Aggregate statistics
consent-scope-public_use = Public use
consent-scope-testify_publicly = Testify publicly
consent-scope-identify_as = Identify as
consent-scope-contact_again = Contact again
consent-scope-ask_again_months = Ask again (months)
consent-recipient-organization = This organization
consent-recipient-partners = Partners
consent-recipient-official_bodies = Official bodies (UN, prosecutors)
consent-recipient-public = The public
consent-level-yes = Yes
consent-level-no = No
consent-level-anonymised = Anonymised only
consent-level-with_identity = With identity
consent-level-paraphrase = Paraphrase only
consent-level-quotes = Quotes allowed
consent-level-discuss = Contact me to discuss
consent-level-name = By name
consent-level-pseudonym = By pseudonym
consent-level-code = By a code
consent-level-never = Never
consent-level-prefer_not = Prefers not to say
file-choice-keep_original = Keep the original as evidence
file-choice-make_clean_copy = Make a cleaned copy
