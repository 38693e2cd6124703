"""The `qingzhi` command and its sub-commands.

Every setting is an option `--name` and an environment variable `QZ_NAME` (see config.py);
heavy modules are imported inside each command so that `qingzhi --help` stays instant.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import asyncpg
import click

from qingzhi.cli_cluster import amqp_setup
from qingzhi.cli_options import (CONNECTION, HISTORY_DAYS, MQTT_TLS, PORT, SEED, UNITS, FiniteFloatRange, need,
                                 settings_options)
from qingzhi.config import Settings, require_caller_key
from qingzhi.core.audit import ROWS_MAX as AUDIT_ROWS_MAX
from qingzhi.errors import QingzhiError



@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
def cli() -> None:
    """qingzhi (情指): real-time command and dispatch for police command centres."""


@cli.command()
@settings_options("database_url")
def migrate(settings: Settings) -> None:
    """Apply database schema migrations (idempotent, never destructive)."""
    from qingzhi.db import migrate_url

    need(settings, "database_url")
    applied = asyncio.run(migrate_url(settings.database_url))
    click.echo(f"applied {len(applied)} migration(s): {', '.join(applied)}" if applied else "schema is up to date")


@cli.command()
@settings_options(*CONNECTION, "client_id", "share_group", "batch_size", "batch_ms", "retention_days",
                  "stats_interval_s", "db_connect_timeout_s", "ingest_db_timeout_s", "owntracks_prefix",
                  "source", "amqp_url", "amqp_queues", "amqp_prefer")
def ingest(settings: Settings) -> None:
    """Receive device messages (over MQTT, or from a RabbitMQ cluster's queues) and store them in PostgreSQL."""
    from ingest.service import run

    need(settings, "database_url", "amqp_url" if settings.source == "amqp" else "mqtt_url")
    require_caller_key(settings)
    run(settings)


@cli.command()
@settings_options("database_url", "retention_days", "lost_after_s", "timezone", "rejects_keep_days",
                  "rejects_keep_rows", "language", "briefing_config", "briefing_dir", "briefing_hour",
                  "briefing_keep_days", "response_plan")
@click.option("--every", "every_s", default=5.0, show_default=True, type=FiniteFloatRange(0.5, 3600),
              help="seconds between rounds of chores")
def worker(settings: Settings, every_s: float) -> None:
    """Run the duty loop: ack-timeout, overdue and lost-unit alerts, aggregates, partitions, rejects."""
    from qingzhi.worker import run

    need(settings, "database_url")
    require_caller_key(settings)
    run(settings, every_s)


@cli.command()
@settings_options("database_url", "health_timeout_s", "database_read_url", "replica_max_lag_s")
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of a table")
def status(settings: Settings, as_json: bool) -> None:
    """Show each ingest process (messages/s, batch sizes, rejects, lag, connections) and the duty loop."""
    from qingzhi.status import show

    need(settings, "database_url")
    show(settings, as_json=as_json)


@cli.command()
@settings_options("database_url")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 2**63 - 1),  # LIMIT takes a bigint
              help="how many, newest first")
@click.option("--since", default=None, help="only those received after this ISO time")
def rejects(settings: Settings, limit: int, since: str | None) -> None:
    """List rejected (bad) messages with their topic, reason and payload."""
    from ingest.rejects import show

    need(settings, "database_url")
    show(settings, limit=limit, since=since)


@cli.command()
@settings_options(*CONNECTION, "center", "timezone", "caller_key", "client_id")
@click.option("--units", default=300, show_default=True, type=UNITS, help="number of patrol units")
@click.option("--stations", default=4, show_default=True, type=click.IntRange(1, 12), help="number of police stations")
@click.option("--rate", default=3.0, show_default=True, type=FiniteFloatRange(0.1, 3600),
              help="seconds between one terminal's fixes")
@click.option("--speedup", default=1.0, show_default=True, type=FiniteFloatRange(0.01, 3600),
              help="simulated seconds per real second: movement, dwell times, battery drain and the call rate "
                   "run faster; message timestamps stay wall-clock and terminals still report every --rate s")
@click.option("--incidents-per-hour", default=12.0, show_default=True, type=FiniteFloatRange(0, 100_000),
              help="mean 110 calls per (simulated) hour")
@click.option("--seed", default=1, show_default=True, type=SEED, help="random seed (same seed, same district)")
@click.option("--roads", type=click.Path(exists=True, dir_okay=False), default=None, help="road network GeoJSON")
@click.option("--history", "history_days", default=0, type=HISTORY_DAYS,
              help="write this many days of history (incidents, tracks, statuses) into the database, then exit")
@click.option("--video-units", default=0, show_default=True, type=click.IntRange(0, 16),
              help="units whose cameras stream real video (live HLS made by ffmpeg)")
@click.option("--video-port", default=8888, show_default=True, type=click.IntRange(0, 65535),
              help="port of the file server publishing that video (MediaMTX's HLS port)")
@click.option("--video-dir", type=click.Path(file_okay=False), default=None,
              help="folder for the video segments (default: a temporary one)")
def simulate(settings: Settings, **options: Any) -> None:
    """Simulate a district's fleet, body cameras and 110 calls over MQTT."""
    from qingzhi.simulator.run import run

    need(settings, "mqtt_url") if not options["history_days"] else need(settings, "database_url")
    require_caller_key(settings)
    run(settings, **options)


@cli.command()
@settings_options(*CONNECTION, "center", "language")
@click.option("--units", default=300, show_default=True, type=UNITS, help="number of simulated units")
@click.option("--history", "history_days", default=28, show_default=True, type=HISTORY_DAYS,
              help="days of history to back-fill")
@click.option("--port", default=8050, show_default=True, type=PORT, help="dashboard port")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="embedded database directory")
def demo(settings: Settings, **options: Any) -> None:
    """Run the whole system on one machine: database, broker, ingest, simulator, dashboard."""
    from qingzhi.demo import run

    run(settings, **options)


@cli.command()
@settings_options(
    "database_url", "mqtt_url", "topic_root", "mqtt_protocol", "language", "timezone", "tile_url",
    "tile_attribution", "tile_crs", "tiles_mbtiles", "center", "stale_after_s", "lost_after_s", "session_idle_min",
    "session_hours",
    "allowed_hosts", "secure_cookies", "stream_hosts", "stream_schemes", "stream_url_template", "camera_tiles",
    "db_connect_timeout_s", "dashboard_db_timeout_s",
    "health_timeout_s", *MQTT_TLS, "data_dir", "response_plan",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8050, show_default=True, type=PORT)
@click.option("--debug", is_flag=True, help="Dash debug mode (reloader, dev tools)")
def dashboard(settings: Settings, host: str, port: int, debug: bool) -> None:
    """Serve the web dashboard."""
    from dashboard.app import serve

    need(settings, "database_url")
    require_caller_key(settings)
    serve(settings, host=host, port=port, debug=debug)


@cli.group(name="import")
def import_() -> None:
    """Import data files."""


@import_.command(name="incidents")
@settings_options("database_url", "caller_key", "timezone")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["generic", "police-uk"]), default="generic", show_default=True)
@click.option("--map", "mapping", multiple=True, help="column mapping FIELD=COLUMN (generic format)")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), default=None, help="write bad rows here")
def import_incidents(settings: Settings, paths: tuple[Path, ...], fmt: str, mapping: tuple[str, ...],
                     report: Path | None) -> None:
    """Import incidents from CSV files, folders of them and zip archives; bad rows are skipped and reported."""
    from qingzhi.importer import import_incidents as run_import

    need(settings, "database_url")
    require_caller_key(settings)
    run_import(settings, paths, fmt=fmt, mapping=mapping, report=report)


@cli.group()
def analysis() -> None:
    """Analysis figures from the command line."""


@analysis.command(name="hotspots")
@settings_options("database_url", "timezone", "study_area")
@click.option("--from", "start", default=None, help="first day (ISO date or date-time; default: the first with data)")
@click.option("--to", "end", default=None, help="last day, inclusive (default: the last with data)")
@click.option("--type", "types", multiple=True, help="only this incident type (repeat for several)")
@click.option("--resolution", default="9", show_default=True, type=click.Choice(["8", "9", "10"]), help="H3 resolution")
@click.option("--top", default=20, show_default=True, type=click.IntRange(1, 10_000), help="ranked cells listed")
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of a table")
def analysis_hotspots(settings: Settings, start: str | None, end: str | None, types: tuple[str, ...], resolution: str,
                      top: int, as_json: bool) -> None:
    """Ranked hotspot cells (count, Gi* z), the study area, and hit rate and PAI of each method."""
    from qingzhi.analysis_report import hotspots

    need(settings, "database_url")
    hotspots(settings, start=start, end=end, types=types, res=int(resolution), top=top, as_json=as_json)


@cli.command()
@settings_options("database_url", "timezone")
@click.option("--limit", default=None, type=click.IntRange(1, AUDIT_ROWS_MAX),
              help="how many, newest first [default: 100 listed, every entry exported]")
@click.option("--since", default=None, help="only entries at or after this ISO time (local unless it has an offset)")
@click.option("--until", default=None, help="only entries before this ISO time")
@click.option("--export", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write CSV here, oldest first")
def audit(settings: Settings, limit: int | None, since: str | None, until: str | None, export: Path | None) -> None:
    """List or export the audit log."""
    from qingzhi.audit_report import show

    need(settings, "database_url")
    show(settings, limit=limit, export=export, since=since, until=until)


from qingzhi.cli_accounts import broker, user  # noqa: E402 - the groups attach to the one command
from qingzhi.cli_briefing import briefing  # noqa: E402

from qingzhi.cli_governance import grids, repeats, search  # noqa: E402
from qingzhi.cli_duty import level, plan  # noqa: E402

cli.add_command(user)
cli.add_command(broker)
cli.add_command(amqp_setup)
cli.add_command(briefing)
cli.add_command(repeats)
cli.add_command(search)
cli.add_command(grids)
cli.add_command(level)
cli.add_command(plan)


def main() -> None:
    """Console entry point: operator errors print as one line, exit status 2."""
    try:
        cli(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except QingzhiError as exc:
        click.echo(f"qingzhi: error: {exc}", err=True)
        sys.exit(2)
    except (asyncpg.UndefinedTableError, asyncpg.UndefinedColumnError, asyncpg.UndefinedFunctionError) as exc:
        # a database that is not (or not yet wholly) qingzhi's: say what to do, not a traceback
        click.echo(f"qingzhi: error: the database lacks part of qingzhi's schema ({exc}): "
                   "check --database-url, or run `qingzhi migrate`", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
