DELETE FROM rollup_backfill WHERE name = 'incident_rollups_v1';
DROP TABLE incident_rollups;
