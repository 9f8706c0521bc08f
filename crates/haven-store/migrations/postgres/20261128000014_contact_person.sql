-- A person's record lists the contacts whose caller was linked to them; without this index that
-- list would read every contact of the organisation.
CREATE INDEX contacts_person ON contacts (org_id, person_id) WHERE person_id IS NOT NULL;
