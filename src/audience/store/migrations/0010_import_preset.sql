-- The CRM preset an import read its file with, and the currency of amounts the file gave
-- none for: a retry of its quarantined rows reads them the same way.
ALTER TABLE imports ADD COLUMN preset VARCHAR;
ALTER TABLE imports ADD COLUMN currency VARCHAR;
