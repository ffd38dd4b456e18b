"""Admin-console benchmark (a script, not a test): `.venv/bin/python bench/accounts_search.py [-n 100000]`.

Seeds one tenant with N accounts by bulk insert (fresh SQLite file in a temp dir, or
IDP_DATABASE_URL), then measures through the services the admin pages call:
  - account search: a fixed set of list-page queries (filters, sorts, deep pages), each run
    --repeat times; prints p50/p95 per query and overall (target: p95 < 100 ms),
  - the rendered list page through the Flask test client (same queries + template),
  - a 300-row CSV import (validate + apply + commit; activation mails queued, not sent inline;
    target < 3 s).
"""
import argparse
import csv
import io
import os
import statistics
import sys
import tempfile
import time
from datetime import date, datetime

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
PASSWORD = "Sakura-Blossom-2026"
ORGS = ["本社", "大阪支社", "名古屋支社", "福岡支社"]
DEPTS = ["営業部", "総務部", "開発部", "経理部", "人事部", "企画部"]
QUERIES = [
    ("first page (name)", {}),
    ("sort by email desc", {"sort": "email", "dir": "desc"}),
    ("sort by last login", {"sort": "last_login"}),
    ("page 1000", {"page": "1000"}),
    ("name contains", {"name": "利用者0123"}),
    ("email contains", {"email": "user09"}),
    ("group", {"group": "GROUP"}),
    ("role admin", {"role": "admin"}),
    ("disabled", {"status": "disabled"}),
    ("locked", {"lock": "locked"}),
    ("organization + department", {"organization": "大阪", "department": "総務"}),
    ("group + status + sort email", {"group": "GROUP", "status": "enabled", "sort": "email"}),
]


def build_app(instance):
    from idp import create_app
    from idp.clock import FrozenClock
    return create_app({"IDP_INSTANCE_DIR": instance, "IDP_SECRET_KEY": "bench", "IDP_MAIL_ASYNC": True,
                       "IDP_RATELIMIT_ENABLED": "0", "IDP_CLOCK": FrozenClock(datetime(2026, 11, 22, 3, 0))})


def seed(app, n):
    from sqlalchemy import insert

    from idp import groups, tenants
    from idp.audit import OPERATOR
    from idp.clock import current_time
    from idp.extensions import db
    from idp.models import Account
    with app.app_context():
        now = current_time()
        tenant = tenants.create_tenant(slug="bench", company_name="ベンチ株式会社", owner_email="owner@bench.example.com",
                                       admin_email="admin@bench.example.com", admin_password=PASSWORD, now=now,
                                       actor=OPERATOR).tenant
        group_ids = [groups.create_group(tenant, f"グループ{i:02d}", now=now, actor=OPERATOR).id for i in range(20)]
        db.session.commit()
        started = time.perf_counter()
        batch = []
        for i in range(n):
            email = f"user{i:06d}@bench.example.com"
            batch.append({
                "tenant_id": tenant.id, "group_id": group_ids[i % 20], "subject": f"bench-{i}", "email": email,
                "email_normalized": email, "name": f"利用者{i:06d}", "phone": "", "mobile": "",
                "organization": ORGS[i % 4], "department": DEPTS[i % 6], "role": "admin" if i % 500 == 0 else "user",
                "status": "disabled" if i % 50 == 0 else "enabled", "valid_from": date(2026, 4, 1),
                "activated": True, "failed_login_count": 0,
                "locked_at": now if i % 1000 == 0 else None,
                "last_login_at": datetime(2026, 1, 1, i % 24, i % 60) if i % 3 else None,
                "created_at": now, "updated_at": now})
            if len(batch) == 5000:
                db.session.execute(insert(Account), batch)
                batch = []
        if batch:
            db.session.execute(insert(Account), batch)
        db.session.commit()
        db.session.execute(db.text("ANALYZE"))  # planner statistics, as a live database has them
        db.session.commit()
        print(f"seeded {n} accounts in {time.perf_counter() - started:.1f} s")
        return tenant.id, group_ids[7]


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def bench_search(app, tenant_id, group_id, repeat):
    from idp import account_search
    from idp.clock import current_time
    from idp.extensions import db
    from idp.models import Tenant
    everything = []
    print(f"\naccount search (service, {repeat} runs each)      p50 ms   p95 ms   total")
    with app.app_context():
        tenant = db.session.get(Tenant, tenant_id)
        for label, args in QUERIES:
            args = {k: (str(group_id) if v == "GROUP" else v) for k, v in args.items()}
            filters = account_search.AccountFilter.from_args(args)
            page = int(args.get("page", 1))
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                result = account_search.search(tenant, filters, now=current_time(), page=page)
                times.append((time.perf_counter() - started) * 1000)
                db.session.rollback()
            everything += times
            print(f"  {label:42s} {statistics.median(times):7.1f}  {percentile(times, 95):7.1f}   {result.total}")
    print(f"  {'ALL':42s} {statistics.median(everything):7.1f}  {percentile(everything, 95):7.1f}")
    return everything


def bench_pages(app, group_id, repeat):
    from conftest import csrf_token_from
    client = app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"csrf_token": token, "email": "admin@bench.example.com", "password": PASSWORD})
    times = []
    for _label, args in QUERIES:
        query = "&".join(f"{k}={str(group_id) if v == 'GROUP' else v}" for k, v in args.items())
        for _ in range(repeat):
            started = time.perf_counter()
            response = client.get(f"/admin/accounts?{query}")
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
    print(f"\nlist page /admin/accounts over HTTP (test client): p50 {statistics.median(times):.1f} ms, "
          f"p95 {percentile(times, 95):.1f} ms")


def bench_import(app, tenant_id):
    from idp import account_csv
    from idp.audit import OPERATOR
    from idp.clock import current_time
    from idp.extensions import db
    from idp.models import Tenant
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(account_csv.HEADER)
    for i in range(150):  # 150 new accounts, 150 edits of existing ones
        writer.writerow([f"new{i:03d}@bench.example.com", f"新規{i:03d}", "0", "本社", "営業部", "グループ01",
                         "09012345678", "", "2026/04/01", "", "0", "0"])
        writer.writerow([f"user{i * 7:06d}@bench.example.com", f"更新{i:03d}", "0", "本社", "総務部", "グループ02",
                         "", "0312345678", "2026/04/01", "2027/03/31", "0", "0"])
    data = out.getvalue().encode("utf-8-sig")
    with app.app_context():
        tenant = db.session.get(Tenant, tenant_id)
        started = time.perf_counter()
        plan = account_csv.read_plan(tenant, data, acting_account_id=None)
        validated = time.perf_counter()
        assert not plan.errors, plan.errors[:3]
        counts = account_csv.apply_plan(tenant, plan, now=current_time(), actor=OPERATOR)
        db.session.commit()
        done = time.perf_counter()
    print(f"\nCSV import of 300 rows {counts}: validate {(validated - started) * 1000:.0f} ms, "
          f"apply + commit {(done - validated) * 1000:.0f} ms, total {done - started:.2f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100_000, help="accounts to seed")
    parser.add_argument("--repeat", type=int, default=20, help="runs per search query")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as instance:
        os.environ.setdefault("IDP_INSTANCE_DIR", instance)
        app = build_app(instance)
        tenant_id, group_id = seed(app, options.n)
        bench_search(app, tenant_id, group_id, options.repeat)
        bench_pages(app, group_id, max(3, options.repeat // 4))
        bench_import(app, tenant_id)
        from idp import mail
        mail.flush(app)


if __name__ == "__main__":
    main()
