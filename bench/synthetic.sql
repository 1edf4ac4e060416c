-- Deterministic synthetic data around Hue (16.46 N, 107.59 E): 200,000 parcels and 1,000,000 points.
-- Every value derives from the row number through md5, so each run builds the same rows.
CREATE SCHEMA IF NOT EXISTS bench_src;
DROP TABLE IF EXISTS bench_src.parcels, bench_src.points;

-- A uniform number in [0, 1) from (row, k).
CREATE OR REPLACE FUNCTION bench_src.u(i bigint, k int) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT ('x' || substr(md5(i::text || ':' || k::text), 1, 8))::bit(32)::bigint / 4294967296.0 $$;

-- A 500 x 400 grid of cells 0.0004 deg (~43 m) wide over lon 107.49-107.69, lat 16.38-16.54; each parcel
-- is an irregular pentagon inside its cell.
CREATE TABLE bench_src.parcels AS
SELECT g.i AS id,
       'P' || lpad(g.i::text, 6, '0') AS ma_lo,
       (ARRAY['ODT', 'ONT', 'CXX', 'DGT', 'TMD', 'SKC', 'DVH', 'TON'])[1 + (g.i * 7) % 8] AS loai_dat,
       (g.i % 9)::int AS tang_cao,
       'Lô ' || g.i || ', ' || (ARRAY['phường Phú Hội', 'phường Vĩnh Ninh', 'phường Thuận Hòa', 'phường An Cựu',
                                     'phường Xuân Phú', 'phường Kim Long'])[1 + g.i % 6] AS ten,
       ST_SetSRID(ST_MakePolygon(ST_MakeLine(ARRAY[
           ST_MakePoint(g.x + g.d * 0.15 * bench_src.u(g.i, 1), g.y + g.d * 0.15 * bench_src.u(g.i, 2)),
           ST_MakePoint(g.x + g.d * (1 - 0.15 * bench_src.u(g.i, 3)), g.y + g.d * 0.15 * bench_src.u(g.i, 4)),
           ST_MakePoint(g.x + g.d * (1 - 0.15 * bench_src.u(g.i, 5)), g.y + g.d * (1 - 0.15 * bench_src.u(g.i, 6))),
           ST_MakePoint(g.x + g.d * 0.5, g.y + g.d * (1 - 0.1 * bench_src.u(g.i, 7))),
           ST_MakePoint(g.x + g.d * 0.15 * bench_src.u(g.i, 8), g.y + g.d * (1 - 0.15 * bench_src.u(g.i, 9))),
           ST_MakePoint(g.x + g.d * 0.15 * bench_src.u(g.i, 1), g.y + g.d * 0.15 * bench_src.u(g.i, 2))
       ])), 4326) AS geom
FROM (SELECT i, 107.49 + (i % 500) * 0.0004 AS x, 16.38 + (i / 500) * 0.0004 AS y, 0.0004 AS d
      FROM generate_series(0, 199999) AS i) AS g;
ALTER TABLE bench_src.parcels ADD COLUMN dien_tich float8;
UPDATE bench_src.parcels SET dien_tich = round(ST_Area(geom::geography)::numeric, 1);

CREATE TABLE bench_src.points AS
SELECT i AS id,
       'D' || lpad(i::text, 7, '0') AS ma,
       (ARRAY['Cây xanh', 'Cột đèn', 'Hố ga', 'Trụ cứu hỏa', 'Biển báo'])[1 + i % 5] AS loai,
       round((100 * bench_src.u(i, 1))::numeric, 2)::float8 AS gia_tri,
       ST_SetSRID(ST_MakePoint(107.49 + 0.2 * bench_src.u(i, 2), 16.38 + 0.16 * bench_src.u(i, 3)), 4326) AS geom
FROM generate_series(0, 999999) AS i;
