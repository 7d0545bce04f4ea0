"""PyAirbyte installs `source-stigg-wasm` from the release's wheel, by its own
name, and syncs it into DuckDB.

Run with the venv that tests/ecosystem/run.sh makes (PyAirbyte pinned in
requirements-pyairbyte.txt), after `./dev release`: `python tests/ecosystem/test_pyairbyte.py`.
PyAirbyte makes a venv of its own for the connector and pip-installs the wheel
into it (`pip_url`): no `local_executable`, nothing of this checkout on its path.
What PyAirbyte does, and this test relies on: `spec`, `check --config`,
`discover --config`, then `read --config --catalog --state` with a state file
of `[]` on the first sync and the STREAM states it saved on the next; it asks
for `incremental` on every stream, `subscriptions` (full refresh only) included.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import unittest
import warnings
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import standin  # noqa: E402

WORK = tempfile.mkdtemp(prefix="stigg-pyairbyte-")
# No registry (there is no internet), no telemetry, and nothing written
# outside our temporary directory. Set before PyAirbyte is imported.
os.environ.update({
    "AIRBYTE_OFFLINE_MODE": "1",
    "DO_NOT_TRACK": "1",
    "AIRBYTE_LOGGING_ROOT": os.path.join(WORK, "logs"),
    "AIRBYTE_PROJECT_DIR": WORK,
    "AIRBYTE_TEMP_DIR": WORK,
    # pip rather than uv, which PyAirbyte's venv does not hold.
    "AIRBYTE_NO_UV": "1",
    # source-stigg-wasm inherits this: the stand-in listens on 127.0.0.1, which the
    # host's network policy refuses unless the operator allows it.
    "STIGG_ALLOW_PRIVATE_NETWORK": "1",
})

# google-api-core warns at import that Python 3.11 support ends in 2027.
warnings.filterwarnings("ignore", category=FutureWarning)

import airbyte as ab  # noqa: E402
from airbyte import exceptions as ab_exc  # noqa: E402
from airbyte.caches import DuckDBCache  # noqa: E402
from sqlalchemy import text  # noqa: E402

# Monthly recurring revenue per currency, from the synced `subscriptions`
# (the README shows this query).
MRR_SQL = """
select totalprice->'total'->>'currency' as currency,
       round(sum(cast(totalprice->'total'->>'amount' as decimal(18, 4))
                 / case billingperiod when 'ANNUALLY' then 12 else 1 end), 2) as mrr
from main.subscriptions
where status = 'ACTIVE' and totalprice is not null
group by 1
order by 1
"""

# Customers at or over 80% of a metered limit, with the plans they are on
# (the README shows this query).
LIMITS_SQL = """
select e.customerid as customer, e.feature->>'refId' as feature,
       e.currentusage as usage, e.usagelimit as usage_limit,
       round(e.currentusage / e.usagelimit, 2) as share,
       string_agg(distinct s.plan->>'refId', ', ') as plans
from main.customer_entitlements e
left join main.subscriptions s
  on s.customer->>'customerId' = e.customerid and s.status in ('ACTIVE', 'IN_TRIAL')
where not e.hasunlimitedusage and e.usagelimit > 0
  and e.currentusage >= 0.8 * e.usagelimit
group by 1, 2, 3, 4, 5
order by share desc, customer, feature
"""

CUSTOMERS = 150
SUBSCRIPTIONS = 2 * CUSTOMERS
API_KEY = "pyairbyte-test-key"


class PyAirbyteSync(unittest.TestCase):
    stand: standin.Standin

    @classmethod
    def setUpClass(cls) -> None:
        cls.stand = standin.Standin(API_KEY, CUSTOMERS, subscriptions_per_customer=2)
        cls.config = {"api_key": API_KEY, "base_url": cls.stand.url, "page_size": 40}
        cls.cache = DuckDBCache(db_path=Path(WORK) / "stigg.duckdb", schema_name="main")

    @classmethod
    def tearDownClass(cls) -> None:
        cls.stand.close()
        shutil.rmtree(WORK, ignore_errors=True)

    def source(self, config: dict):
        return ab.get_source("source-stigg-wasm", pip_url=str(standin.release_wheel()), config=config,
                             install_root=Path(WORK))

    def test_0_the_connector_is_installed_from_the_wheel_into_a_venv_of_its_own(self) -> None:
        source = self.source(self.config)
        executable = Path(WORK) / ".venv-source-stigg-wasm" / "bin" / "source-stigg-wasm"
        self.assertTrue(executable.is_file(), f"no {executable}")
        self.assertIn(".venv-source-stigg-wasm", str(source.executor.interpreter_path))

    def query(self, sql: str) -> list:
        with self.cache.get_sql_engine().connect() as connection:
            return connection.execute(text(sql)).fetchall()

    def test_1_check_succeeds(self) -> None:
        self.source(self.config).check()

    def test_2_check_with_a_wrong_key_fails(self) -> None:
        with self.assertRaises(ab_exc.AirbyteConnectorCheckFailedError):
            self.source({**self.config, "api_key": "wrong"}).check()

    def test_3_discover_names_the_streams(self) -> None:
        streams = self.source(self.config).get_available_streams()
        self.assertIn("customers", streams)
        self.assertIn("subscriptions", streams)

    def test_4_read_lands_every_row_in_duckdb(self) -> None:
        source = self.source(self.config)
        source.select_streams(["customers", "subscriptions"])
        result = source.read(cache=self.cache)
        self.assertEqual(result.processed_records, CUSTOMERS + SUBSCRIPTIONS)
        self.assert_cache_matches_the_standin()

    def test_5_next_sync_resumes_from_the_saved_state(self) -> None:
        # The second sync hands back the STREAM states PyAirbyte saved:
        # customers (incremental) reads only from its cursor on, subscriptions
        # (full refresh) everything again; the cache dedups on `id`.
        source = self.source(self.config)
        source.select_streams(["customers", "subscriptions"])
        result = source.read(cache=self.cache)
        self.assertGreaterEqual(result.processed_records, SUBSCRIPTIONS)
        self.assertLess(result.processed_records, CUSTOMERS + SUBSCRIPTIONS)
        self.assert_cache_matches_the_standin()

    def test_6_every_stream_lands_and_mrr_adds_up(self) -> None:
        source = self.source(self.config)
        streams = source.get_available_streams()
        self.assertIn("subscription_prices", streams)
        source.select_all_streams()
        source.read(cache=self.cache)
        for stream in streams:
            self.assertGreater(self.query(f"select count(*) from main.{stream}")[0][0], 0, stream)
        mrr = {currency: Decimal(str(amount)) for currency, amount in self.query(MRR_SQL)}
        want: dict[str, Decimal] = {}
        for node in self.stand.nodes("subscriptions",
                                     "status billingPeriod totalPrice { total { amount currency } }"):
            total = node["totalPrice"] and node["totalPrice"]["total"]
            if node["status"] != "ACTIVE" or not total:
                continue
            monthly = Decimal(str(total["amount"])) / (12 if node["billingPeriod"] == "ANNUALLY" else 1)
            want[total["currency"]] = want.get(total["currency"], Decimal(0)) + monthly
        self.assertGreater(len(want), 1, "the stand-in prices in several currencies")
        self.assertEqual(set(mrr), set(want))
        for currency, amount in want.items():
            # The query rounds to cents; the sum here is exact.
            self.assertLessEqual(abs(mrr[currency] - amount), Decimal("0.01"), currency)

    def test_7_the_limits_query_finds_the_customers_over_80_percent(self) -> None:
        # Runs after test_6 synced every stream.
        readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
        self.assertIn(LIMITS_SQL.strip() + ";", readme, "the README shows this query")
        rows = self.query(LIMITS_SQL)
        found = {(customer, feature) for customer, feature, *_ in rows}
        want = set()
        for node in self.stand.nodes("customers", "customerId"):
            customer = node["customerId"]
            answer = self.stand.graphql(
                f'{{ entitlements(query: {{customerId: "{customer}"}}) '
                "{ currentUsage usageLimit hasUnlimitedUsage feature { refId } } }")
            for e in answer["entitlements"]:
                limit, usage = e["usageLimit"], e["currentUsage"]
                if not e["hasUnlimitedUsage"] and limit and usage is not None and usage >= 0.8 * limit:
                    want.add((customer, e["feature"]["refId"]))
        self.assertGreater(len(want), 0, "the stand-in has customers over 80%")
        self.assertEqual(found, want)
        shares = [float(share) for *_, share, _plans in rows]
        self.assertEqual(shares, sorted(shares, reverse=True))
        self.assertTrue(all(share >= 0.8 for share in shares))

    def test_8_deleted_customers_leave_the_live_rows(self) -> None:
        # PyAirbyte merges on the key but does not apply Airbyte's CDC deletes:
        # a deleted customer's row becomes the deletion record (its key, its
        # `_ab_cdc_deleted_at`), so live customers are the rows without it.
        deleted = set(self.stand.admin("delete-customers", {"n": 2})["ids"])
        source = self.source(self.config)
        source.select_streams(["customers"])
        source.read(cache=self.cache)
        live = {r[0] for r in self.query(
            "select id from main.customers where _ab_cdc_deleted_at is null")}
        tombstones = {r[0] for r in self.query(
            "select id from main.customers where _ab_cdc_deleted_at is not null")}
        self.assertEqual(tombstones, deleted)
        self.assertFalse(live & deleted)
        self.assertEqual(live, set(self.stand.admin("ids/customers")))

    def assert_cache_matches_the_standin(self) -> None:
        # PyAirbyte lower-cases column names.
        self.assertEqual(self.query("select count(*), count(distinct id) from main.customers")[0],
                         (CUSTOMERS, CUSTOMERS))
        self.assertEqual(self.query("select count(*), count(distinct id) from main.subscriptions")[0],
                         (SUBSCRIPTIONS, SUBSCRIPTIONS))
        self.assertEqual({r[0] for r in self.query("select id from main.customers")},
                         set(self.stand.admin("ids/customers")))
        self.assertEqual({r[0] for r in self.query("select id from main.subscriptions")},
                         set(self.stand.admin("ids/subscriptions")))

        served = {n["id"]: n for n in self.stand.nodes(
            "customers", "id customerId email name billingCurrency totalActiveSubscription")}
        rows = self.query("select id, customerid, email, name, billingcurrency, "
                          "totalactivesubscription from main.customers")
        for id_, customer_id, email, name, currency, active in rows:
            want = served[id_]
            self.assertEqual((customer_id, email, name, currency),
                             (want["customerId"], want["email"], want["name"], want["billingCurrency"]))
            self.assertEqual(Decimal(active), Decimal(str(want["totalActiveSubscription"])))

        served = {n["id"]: n for n in self.stand.nodes(
            "subscriptions", "id subscriptionId customerId status pricingType plan { refId }")}
        rows = self.query("select id, subscriptionid, customerid, status, pricingtype, plan "
                          "from main.subscriptions")
        for id_, subscription_id, customer_id, status, pricing, plan in rows:
            want = served[id_]
            self.assertEqual((subscription_id, customer_id, status, pricing),
                             (want["subscriptionId"], want["customerId"], want["status"], want["pricingType"]))
            self.assertEqual(plan["refId"], want["plan"]["refId"])
        self.assertEqual(self.stand.admin("stats")["invalidQueries"], 0)


if __name__ == "__main__":
    sys.exit(standin.run_tests("pyairbyte", PyAirbyteSync))
