"""`gisserver backup` and `gisserver restore`: a backup restored into a fresh database is the same."""

from __future__ import annotations

import os

import pytest

from gisserver.app import create_app, private_cluster
from gisserver.backup import table_counts
from gisserver.config import Settings
from gisserver.users import create_user

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("GISSERVER_TEST_DATABASE_URL")), reason="needs the private cluster to create a second database"
)


@pytest.fixture
def fresh_database_url():
    cluster = private_cluster(Settings.from_env())
    name = os.environ.get("GISSERVER_TEST_DB_NAME", "gisserver_test") + "_restore"
    return cluster.recreate_database(name)


def test_backup_restores_into_a_fresh_database(app, cli, db, database_url, fresh_database_url, tmp_path):
    create_user(db, "nguyen-van-a", "correct horse battery", ["officer"], display_name="Nguyễn Văn A")
    db.commit()
    photo = app.config["SETTINGS"].data_dir / "photos" / "2026" / "r1.jpg"
    photo.parent.mkdir(parents=True)
    photo.write_bytes(b"\xff\xd8 fake jpeg bytes \xff\xd9")

    archive = tmp_path / "backup.tar"
    made = cli("backup", str(archive))
    assert made.exit_code == 0, made.output
    assert "1 files" in made.output

    restored_dir = tmp_path / "restored-data"
    target = create_app({"DATABASE_URL": fresh_database_url, "DATA_DIR": restored_dir})
    runner = target.test_cli_runner()
    from gisserver.cli import main

    result = runner.invoke(main, ["restore", str(archive)])
    assert result.exit_code == 0, result.output
    assert table_counts(fresh_database_url) == table_counts(database_url)
    assert (restored_dir / "photos" / "2026" / "r1.jpg").read_bytes() == photo.read_bytes()

    with target.extensions["gisserver.db"].transaction() as session:
        from sqlalchemy import select

        from gisserver.users import User, authenticate

        assert session.scalar(select(User.display_name).where(User.username == "nguyen-van-a")) == "Nguyễn Văn A"
        assert authenticate(session, "nguyen-van-a", "correct horse battery") is not None

    # A second restore onto data is refused unless asked for.
    again = runner.invoke(main, ["restore", str(archive)])
    assert again.exit_code == 1 and "--replace" in again.output
    assert runner.invoke(main, ["restore", "--replace", str(archive)]).exit_code == 0
    assert table_counts(fresh_database_url) == table_counts(database_url)
    target.extensions["gisserver.db"].dispose()


def test_restore_refuses_a_file_that_is_not_a_backup(cli, tmp_path):
    bogus = tmp_path / "not-a-backup.tar"
    bogus.write_text("hello")
    result = cli("restore", str(bogus))
    assert result.exit_code == 1 and "not a gisserver backup" in result.output
