-- A notification about an agency (to the labour or market inspectorate, say) written from the
-- agency's page: it belongs to no case or contact, and is found through the agency. Issue 6.
CREATE TABLE notification_agencies (
    org_id UUID NOT NULL,
    notification_id UUID NOT NULL,
    agency_id UUID NOT NULL,
    PRIMARY KEY (org_id, notification_id),
    FOREIGN KEY (org_id, notification_id) REFERENCES notifications (org_id, id),
    FOREIGN KEY (org_id, agency_id) REFERENCES agencies (org_id, id)
);

CREATE INDEX notification_agencies_agency ON notification_agencies (org_id, agency_id);
