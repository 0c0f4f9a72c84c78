"""A single Apache Kafka broker in KRaft mode (broker + controller), run from Maven's jars."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import uuid
from pathlib import Path

from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from heritage.services import processes
from heritage.services.health import ServiceHealth, port_open, split_host_port
from heritage.settings import PROJECT_ROOT, Settings

NAME = "kafka"


def _home(settings: Settings) -> Path:
    return settings.state_dir / "kafka"


def _classpath(settings: Settings) -> str:
    jars = settings.jars_dir / "kafka"
    if not any(jars.glob("kafka_2.13-*.jar")):
        raise processes.ServiceError(f"kafka: no broker jars in {jars}; run `make setup` first")
    return f"{jars}/*"


def broker_version(settings: Settings) -> str:
    for jar in (settings.jars_dir / "kafka").glob("kafka_2.13-*.jar"):
        match = re.search(r"kafka_2\.13-(.+)\.jar$", jar.name)
        if match:
            return match.group(1)
    return "unknown"


def server_properties(settings: Settings, data_dir: Path) -> str:
    host, port = split_host_port(settings.kafka_bootstrap_servers)
    controller = f"{host}:{settings.kafka_controller_port}"
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@{controller}",
            f"listeners=PLAINTEXT://{host}:{port},CONTROLLER://{controller}",
            f"advertised.listeners=PLAINTEXT://{host}:{port}",
            "controller.listener.names=CONTROLLER",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name=PLAINTEXT",
            f"log.dirs={data_dir}",
            "num.partitions=4",
            "offsets.topic.replication.factor=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            # Topics are created explicitly with their settings by `services up`.
            "auto.create.topics.enable=false",
            "",
        ]
    )


def _java(settings: Settings, main_class: str, *args: str, heap: str = "512m") -> list[str]:
    java = shutil.which("java")
    if java is None:
        raise processes.ServiceError("kafka: `java` not found; install OpenJDK 17+")
    log4j = PROJECT_ROOT / "config" / "kafka-log4j2.yaml"
    return [
        java,
        f"-Xmx{heap}",
        f"-Xms{heap}",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={log4j}",
        f"-Dkafka.logs.dir={_home(settings) / 'logs'}",
        "-cp",
        _classpath(settings),
        main_class,
        *args,
    ]


def start(settings: Settings) -> None:
    home = _home(settings)
    data_dir = home / "data"
    config = home / "server.properties"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(server_properties(settings, data_dir))
    if not (data_dir / "meta.properties").exists():
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        formatted = subprocess.run(
            _java(
                settings,
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(config),
                heap="256m",
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if formatted.returncode != 0:
            raise processes.ServiceError(
                f"kafka: formatting the KRaft log dir failed:\n{formatted.stdout}{formatted.stderr}"
            )
    log_file = home / "logs" / "broker.out"
    process = processes.start(
        settings.state_dir / "run", NAME, _java(settings, "kafka.Kafka", str(config)), log_file
    )
    host, port = split_host_port(settings.kafka_bootstrap_servers)
    processes.wait_until(
        lambda: port_open(host, port) and _broker_answers(settings),
        "kafka broker",
        timeout_s=90,
        log_file=log_file,
        process=process,
        run_dir=settings.state_dir / "run",
    )


def _broker_answers(settings: Settings) -> bool:

    # A closed port answers at once; kafka-python would retry for half a minute and log
    # every attempt.
    if not port_open(*split_host_port(settings.kafka_bootstrap_servers)):
        return False
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=settings.kafka_bootstrap_servers, request_timeout_ms=3000
        )
    except (KafkaError, OSError):
        return False
    try:
        admin.list_topics()
        return True
    except (KafkaError, OSError):
        return False
    finally:
        admin.close()


def health(settings: Settings) -> ServiceHealth:
    running = processes.tracked(settings.state_dir / "run", NAME) is not None
    healthy = _broker_answers(settings)
    detail = "" if healthy else ("started, not answering" if running else "not running")
    return ServiceHealth(
        NAME, healthy, settings.kafka_bootstrap_servers, broker_version(settings), detail
    )
