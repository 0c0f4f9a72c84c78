"""ML throughput: images/s for decoding alone, the encoder's bare forward passes (image and
text towers) and the whole embedding job over the same images in the same run.

The images (distinct pictures from the demo image server) are fetched into MinIO first (not
timed); the job then reads them from MinIO, decodes, hashes, encodes, upserts into Qdrant and
commits its state to Delta, as in production. Goal: the job at >= 0.8 of the bare image
forward pass.

    .venv/bin/python bench/ml_throughput.py --images 512
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path


def _write_cleansed(spark, layout, base: str, count: int) -> None:  # type: ignore[no-untyped-def]
    from heritage.table_schemas import CLEANSED_RECORDS

    now = datetime.now(UTC)
    rows = [
        (
            f"europeana:/2021672/bench_{i:06d}",
            "europeana",
            f"Study {i} of a winter landscape",
            None,
            ["Hendrick Avercamp"],
            f"Record {i}: skaters on a frozen river, from the bench collection.",
            "1620",
            None,
            None,
            "IMAGE",
            None,
            "http://creativecommons.org/publicdomain/mark/1.0/",
            f"{base}/media/2021672/iiif/bench_{i:06d}/full/max/0/default.jpg",
            "Rijksmuseum",
            "Europeana Foundation",
            "Netherlands",
            ["nl"],
            f"hash{i:06d}",
            None,
            now,
            0,
            i,
            None,  # ocr_text
            None,  # ocr_confidence
            None,  # ocr_pages
            None,  # ocr_fields
            0,  # cleanse_batch
        )
        for i in range(count)
    ]
    spark.createDataFrame(rows, CLEANSED_RECORDS).write.format("delta").mode("overwrite").save(
        layout.cleansed_records
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=512, help="images (default 512)")
    parser.add_argument("--keep", action="store_true", help="keep the namespace afterwards")
    args = parser.parse_args(argv)

    from PIL import Image

    from heritage.json_logging import configure_logging
    from heritage.lakehouse_layout import LakehouseLayout
    from heritage.lakehouse_namespaces import drop_namespace
    from heritage.ml.demo_image_server import serve_demo_images
    from heritage.ml.embedding_job import embedding_text, run_embedding_job
    from heritage.ml.encoders import load_encoder
    from heritage.ml.image_fetch import original_key, run_image_fetch
    from heritage.ml.image_url_policy import UrlPolicy, parse_allow_list
    from heritage.ml_settings import load_embedding_job_config, load_encoder_config
    from heritage.object_store import object_store_client
    from heritage.pipeline import lakehouse_session, prepare
    from heritage.settings import load_settings

    configure_logging("WARNING")
    qdrant_dir = tempfile.mkdtemp(prefix="heritage-bench-qdrant-")
    settings = replace(load_settings(), qdrant_path=Path(qdrant_dir))
    layout = LakehouseLayout.namespaced(settings, f"bench_ml_{uuid.uuid4().hex[:6]}")
    prepare(settings, layout)
    spark = lakehouse_session(settings)
    encoder_config = load_encoder_config(settings)
    job_config = load_embedding_job_config(settings)
    try:
        with serve_demo_images(port=0) as base:
            _write_cleansed(spark, layout, base, args.images)
            policy = UrlPolicy(parse_allow_list(base.removeprefix("http://")))
            fetched = run_image_fetch(spark, settings, layout, policy=policy, progress=True)
        if fetched.stored != args.images:
            print(f"only {fetched.stored} of {args.images} images stored", file=sys.stderr)
            return 1
        images = spark.read.format("delta").load(layout.ml_images).orderBy("record_id").collect()
        client = object_store_client(settings)
        originals = []
        for row in images:
            response = client.get_object(settings.bucket, original_key(layout, row.sha256))
            originals.append(response.read())
            response.close()
            response.release_conn()

        encoder = load_encoder(encoder_config)
        batch = encoder_config.batch_size

        started = time.perf_counter()
        decoded = []
        for data in originals:
            image = Image.open(io.BytesIO(data))
            decoded.append(image.convert("RGB"))
        decode_s = time.perf_counter() - started

        prepared = [
            encoder.prepare_images(decoded[i : i + batch]) for i in range(0, len(decoded), batch)
        ]
        encoder.encode_prepared(prepared[0])  # warm-up
        started = time.perf_counter()
        for pixels in prepared:
            encoder.encode_prepared(pixels)
        image_s = time.perf_counter() - started

        texts = [
            embedding_text(
                f"Study {i} of a winter landscape",
                f"Record {i}: skaters on a frozen river, from the bench collection.",
                ["Hendrick Avercamp"],
            )
            for i in range(len(decoded))
        ]
        started = time.perf_counter()
        for i in range(0, len(texts), batch):
            encoder.encode_texts(texts[i : i + batch])
        text_s = time.perf_counter() - started

        started = time.perf_counter()
        summary = run_embedding_job(
            spark, settings, layout, encoder=encoder, encoder_config=encoder_config
        )
        job_s = time.perf_counter() - started
        if summary.encoded != args.images:
            print(f"the job encoded {summary.encoded} of {args.images}", file=sys.stderr)
            return 1
        n = len(decoded)
        figures = {
            "images": n,
            "encoder": encoder.name,
            "batch_size": batch,
            "threads": encoder_config.threads,
            "commit_every": job_config.commit_every,
            "decode_per_s": round(n / decode_s, 1),
            "image_forward_per_s": round(n / image_s, 1),
            "text_forward_per_s": round(n / text_s, 1),
            "job_per_s": round(n / job_s, 1),
            "job_vs_image_forward": round((n / job_s) / (n / image_s), 2),
        }
        print(json.dumps(figures, indent=2))
        print(
            f"| {n} | {encoder.name} | {figures['decode_per_s']} | "
            f"{figures['image_forward_per_s']} | {figures['text_forward_per_s']} | "
            f"{figures['job_per_s']} | {figures['job_vs_image_forward']} |"
        )
    finally:
        if not args.keep:
            drop_namespace(settings, layout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
