import sqlalchemy as sa


def test_cluster_runs(pg_engine: sa.Engine) -> None:
    with pg_engine.connect() as conn:
        assert conn.execute(sa.text("select 1")).scalar() == 1
