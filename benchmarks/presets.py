"""How well each preset trains: one row per dataset of tinygan.train.PRESETS, measured after the preset's steps.

For every preset it trains the recipe (one or more seeds), draws 2,500 samples from the trained (EMA) generator and
measures them against the data:

    MMD^2       unbiased MMD^2 with a Gaussian kernel of median-heuristic bandwidth, generated vs 2,500 fresh data
                samples; printed beside the same estimate for a second, independent data sample ("data vs data"),
                which is what a perfect generator would score (the estimator scatters around 0)
    JS          Jensen-Shannon divergence (nats) between the known data density and a kernel density estimate of
                the samples (tinygan.metrics.kl_and_js_from_samples, Scott's bandwidth, on a grid over the box that
                holds both), again beside the value for a data sample: the KDE's smoothing makes even data score
                above 0. Only for datasets with a closed-form density (has_density)
    modes, HQ   for mixtures: modes captured and the high-quality fraction (within 3 stds of a mode), as in
                benchmarks/quality.py

    python benchmarks/presets.py                        # every preset but ring and grid (quality.py has those)
    python benchmarks/presets.py --datasets moons gmm2d --seeds 3
    python benchmarks/presets.py --quick                # smoke run: 100 steps a preset (numbers meaningless)

It is a script, not a test: it prints figures and never fails a build. Run it with OPENBLAS_NUM_THREADS=1 for
steady times on a small machine (the networks are small; more BLAS threads cost more than they save).
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import tinygan as tg  # noqa: E402
from tinygan import metrics, train  # noqa: E402

SAMPLES = 2500
MMD_POINTS = 1000          # the unbiased MMD^2 costs n^2 kernel evaluations; 1,000 points resolve these datasets
DEFAULT_DATASETS = [name for name in train.PRESETS if name not in ("ring", "grid")]


def _box(*samples):
    """The box the density comparison runs over: the range of all the points, widened by 10% on each side."""
    points = tg.concatenate([s.reshape(s.shape[0], -1) for s in samples], axis=0).double()
    low, high = points.min(axis=0), points.max(axis=0)
    margin = 0.1 * (high - low)
    low, high = (low - margin).tolist(), (high + margin).tolist()
    return (low[0], high[0]) if len(low) == 1 else tuple(zip(low, high))


def measure(config):
    """Train one preset config; return its metrics, the data-vs-data references and the wall time."""
    started = time.perf_counter()
    trainer = train.Trainer.from_config(config)
    trainer.train()
    seconds = time.perf_counter() - started
    data = trainer.data
    generator = tg.Generator(seed=10_000 + config.seed)
    fake = trainer.sample(SAMPLES).double()
    real = data.sample(SAMPLES, generator=generator).double()
    other_real = data.sample(SAMPLES, generator=generator).double()
    result = {"seconds": seconds,
              "mmd2": metrics.mmd2_unbiased(fake[:MMD_POINTS], real[:MMD_POINTS]),
              "mmd2_data": metrics.mmd2_unbiased(other_real[:MMD_POINTS], real[:MMD_POINTS])}
    if data.has_density:
        if not bool(tg.isfinite(fake).all().item()):
            result["js"] = float("nan")
        else:
            box = _box(fake, real)
            result["js"] = metrics.kl_and_js_from_samples(data.log_prob, fake, box).js
            result["js_data"] = metrics.kl_and_js_from_samples(data.log_prob, other_real, box).js
    if hasattr(data, "means") and hasattr(data, "stds"):
        stats = metrics.mode_statistics(fake, data.means, data.stds)
        result.update(modes=stats.modes_captured, n_modes=len(data.means), hq=stats.high_quality_fraction)
    return result


def _cell(results, key, digits=4):
    values = [r[key] for r in results if key in r]
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ({min(values):.{digits}f} to {max(values):.{digits}f})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=DEFAULT_DATASETS, choices=list(train.PRESETS),
                        help="presets to train (default: all but ring and grid)")
    parser.add_argument("--seeds", type=int, default=1, help="seeds 0 .. N-1 per preset (default 1)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 100 steps a preset")
    args = parser.parse_args()

    rows = []
    for name in args.datasets:
        results = []
        for seed in range(args.seeds):
            config = train.preset(name, seed=seed, eval_every=0, **({"steps": 100} if args.quick else {}))
            results.append(measure(config))
            r = results[-1]
            modes = f", {r['modes']}/{r['n_modes']} modes, {100 * r['hq']:.1f}% HQ" if "modes" in r else ""
            js = f", JS {r['js']:.4f} (data {r['js_data']:.4f})" if "js_data" in r else ""
            print(f"  {name} seed {seed}: MMD^2 {r['mmd2']:.5f} (data {r['mmd2_data']:.5f}){js}{modes}, "
                  f"{r['seconds']:.0f} s", flush=True)
        rows.append((name, config, results))

    print(f"\n{SAMPLES} samples per run, {args.seeds} seed(s); mean (min to max) over the seeds")
    print("| preset | steps | MMD^2 (data vs data) | JS, nats (data vs data) | modes | high quality | s/run |")
    print("|---|---|---|---|---|---|---|")
    for name, config, results in rows:
        mmd = f"{_cell(results, 'mmd2', 5)} ({_cell(results, 'mmd2_data', 5)})"
        js = f"{_cell(results, 'js')} ({_cell(results, 'js_data')})" if "js" in results[0] else "-"
        modes = f"{min(r['modes'] for r in results)}/{results[0]['n_modes']} (min)" if "modes" in results[0] else "-"
        hq = f"{100 * statistics.mean(r['hq'] for r in results):.1f}%" if "hq" in results[0] else "-"
        seconds = statistics.median(r["seconds"] for r in results)
        print(f"| {name} | {config.steps} | {mmd} | {js} | {modes} | {hq} | {seconds:.0f} |")


if __name__ == "__main__":
    main()
