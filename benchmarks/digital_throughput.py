"""Digital link throughput: time and peak memory of each quantize/LDPC/QAM path.

Each case runs in a fresh subprocess so its peak RSS is its own.
Usage: python benchmarks/digital_throughput.py [--only CASE ...] [--snr-db 12]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

RESNET20, RESNET18 = 270_000, 11_200_000
#: name -> (num_weights, DigitalScheme kwargs)
CASES: dict[str, tuple[int, dict]] = {
    "r20_q8_uncoded_16qam": (RESNET20, dict(source="q8", code_rate=None)),
    "r20_f16_uncoded_16qam": (RESNET20, dict(source="float16", code_rate=None)),
    "r20_f32_uncoded_16qam": (RESNET20, dict(source="float32", code_rate=None)),
    "r20_q8_uncoded_16qam_app": (
        RESNET20,
        dict(source="q8", code_rate=None, demapping="app"),
    ),
    "r20_q8_ldpc12_16qam_sampled": (
        RESNET20,
        dict(source="q8", code_rate=0.5, k=4096, decoding="sampled"),
    ),
    "r20_q8_ldpc12_16qam_full": (RESNET20, dict(source="q8", code_rate=0.5, k=4096)),
    "r18_q8_uncoded_16qam": (RESNET18, dict(source="q8", code_rate=None)),
    "r18_q8_ldpc12_16qam_sampled": (
        RESNET18,
        dict(source="q8", code_rate=0.5, k=8448, decoding="sampled"),
    ),
}


def run_case(case: str, snr_db: float) -> dict:
    import torch

    sys.path.insert(0, ".")
    from airmodel.link import Link
    from airmodel.modulation import DigitalScheme
    from benchmarks._common import peak_rss_mb

    n, kwargs = CASES[case]
    g = torch.Generator().manual_seed(0)
    sd = {f"layer{i}.weight": torch.randn(n // 4, generator=g) * 0.05 for i in range(4)}
    scheme = DigitalScheme(**kwargs)
    link = Link("awgn", scheme=scheme)
    t0 = time.perf_counter()
    tx = link.transmit(
        sd, snr_db, seed=0
    )  # flatten→quantize→encode→map→AWGN→demap→decode
    _, stats = link.rebuild(tx, w_hat=tx.reception.y)
    total = time.perf_counter() - t0
    info = tx.reception.info
    return {
        "case": case,
        "scheme": repr(scheme),
        "weights": n,
        "snr_db": snr_db,
        "total_s": total,
        "decode_time_s": info["decode_time_s"],
        "bp_time_s": info.get("bp_time_s", 0.0),
        "weights_per_s": n / total,
        "ber": info["ber"],
        "ber_estimate": info["ber_estimate"],
        "bler": info.get("bler"),
        "replaced": info["replaced_weights"],
        "weight_mse": stats.weight_mse,
        "mode": info["decoding_mode"],
        "peak_rss_mb": peak_rss_mb(),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--snr-db", type=float, default=12.0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--only", nargs="*", choices=list(CASES))
    p.add_argument("--out", default="benchmarks/results/digital_throughput.json")
    p.add_argument("--case", choices=list(CASES), help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.case:
        import torch

        torch.set_num_threads(a.threads)
        print(json.dumps(run_case(a.case, a.snr_db)))
        return
    sys.path.insert(0, ".")
    from benchmarks._common import machine, print_table, write_json

    rows = []
    for case in a.only or list(CASES):
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--case",
                case,
                "--snr-db",
                str(a.snr_db),
                "--threads",
                str(a.threads),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    print_table(
        rows,
        [
            "case",
            "weights",
            "total_s",
            "decode_time_s",
            "bp_time_s",
            "weights_per_s",
            "ber",
            "bler",
            "peak_rss_mb",
        ],
    )
    write_json(
        a.out,
        {"machine": machine(), "threads": a.threads, "snr_db": a.snr_db, "rows": rows},
    )


if __name__ == "__main__":
    main()
