-- The IVR path a call took and where its recording is (media/IVR issue).
ALTER TABLE call_records ADD COLUMN route TEXT;
ALTER TABLE call_records ADD COLUMN recording TEXT;
