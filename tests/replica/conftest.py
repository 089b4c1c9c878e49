"""A primary and its streaming standby, made once per session for the replica tests."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from fengqiao.db import Database
from fengqiao.demo.seed import seed
from fengqiao.migrate import upgrade
from tests.replica.clusters import Cluster, caught_up, wait_until, workspace

DATABASE = "fq"


@dataclass
class Replication:
    primary: Cluster
    standby: Cluster

    def caught_up(self) -> bool:
        return caught_up(self.primary, self.standby)

    def wait_caught_up(self) -> None:
        wait_until(self.caught_up, what="the standby to replay the primary's WAL")


@pytest.fixture(scope="session")
def replication() -> Iterator[Replication]:
    """A primary of the tests' own (initdb, wal_level=replica) with the small demo district,
    and a hot standby made from it with `pg_basebackup -R`, on free ports; both are stopped
    and removed at the end."""
    if os.environ.get("FENGQIAO_TEST_SKIP_POSTGRES") == "1":
        pytest.skip("FENGQIAO_TEST_SKIP_POSTGRES=1")
    root = workspace("fq-replica-")
    primary = standby = None
    try:
        primary = Cluster.primary(root)
        primary.sql(f"CREATE DATABASE {DATABASE}")
        url = primary.url(DATABASE)
        upgrade(url)
        database = Database(url)
        seed(db=database, scale="small", password="demo-pass-for-tests")
        database.dispose()
        standby = primary.standby(root)
        pair = Replication(primary, standby)
        pair.wait_caught_up()
        yield pair
    finally:
        for cluster in (standby, primary):
            if cluster is not None and cluster.running():
                cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
