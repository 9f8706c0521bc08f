-- Files an institution attaches to its reply through the reply link (issue 6), sealed like the
-- portal's files (name and content); when the notification belongs to a case, the copy filed
-- among the case's documents is named here. And who still has to see an institution's receipt or
-- reply: the notification's author and the case's advisors, until they open the notification.
-- Also the letterhead and signature block of the organisation's letters.
-- Keep in step with migrations/postgres: the schema test compares the two.

CREATE TABLE notification_reply_files (
    org_id BLOB NOT NULL,
    id BLOB NOT NULL,
    notification_id BLOB NOT NULL,
    reply_id BLOB NOT NULL,
    media_type TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    name_enc BLOB NOT NULL,
    content_enc BLOB NOT NULL,
    document_id BLOB,
    received_at TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, notification_id) REFERENCES notifications (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, reply_id) REFERENCES notification_replies (org_id, id) ON DELETE CASCADE
);
CREATE INDEX notification_reply_files_notification ON notification_reply_files (org_id, notification_id);

CREATE TABLE notification_unseen (
    org_id BLOB NOT NULL,
    notification_id BLOB NOT NULL,
    user_id BLOB NOT NULL,
    since TEXT NOT NULL,
    PRIMARY KEY (org_id, notification_id, user_id),
    FOREIGN KEY (org_id, notification_id) REFERENCES notifications (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id)
);
CREATE INDEX notification_unseen_user ON notification_unseen (org_id, user_id);

-- The letterhead and signature block of letters (the organisation's own details: plain).
ALTER TABLE referral_settings ADD COLUMN letterhead_address TEXT NOT NULL DEFAULT '';
ALTER TABLE referral_settings ADD COLUMN letterhead_phone TEXT NOT NULL DEFAULT '';
ALTER TABLE referral_settings ADD COLUMN letterhead_email TEXT NOT NULL DEFAULT '';
ALTER TABLE referral_settings ADD COLUMN letterhead_web TEXT NOT NULL DEFAULT '';
ALTER TABLE referral_settings ADD COLUMN letterhead_registration TEXT NOT NULL DEFAULT '';
ALTER TABLE referral_settings ADD COLUMN signature_title TEXT NOT NULL DEFAULT '';
