"""FD against sampler steps for every diffusion model of a zoo (the shipped one by default: favorites/families,
a U-Net and a DiT trained 1,500 steps on sklearn's 8x8 digits): ancestral, DDIM, the probability-flow ODE (Heun)
and the reverse SDE (Euler–Maruyama), each at the same numbers of steps, from the same noise, scored by the zoo's
scorer on the same number of samples; network evaluations and seconds beside each. Held-out real images (the
floor) and uniform noise come from the zoo.

    .venv/bin/python bench/diffusion_samplers.py [--zoo favorites/families] [--steps 5,10,25,50,100]
        [--samplers ancestral,ddim,ode,sde] [--samples 359] [--seeds 0,1,2]

Seeds change the noise the samples start from (the weights are the zoo's); the table gives the median and range.
Writes JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import report  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--zoo", default="favorites/families")
    p.add_argument("--steps", default="5,10,25,50,100")
    p.add_argument("--samplers", default="ancestral,ddim,ode,sde")
    p.add_argument("--samples", type=int, default=359)
    p.add_argument("--seeds", default="0,1,2")
    args = p.parse_args()
    import torch

    from genesis_core.training.loading import load_model
    from genesis_core.vision.analysis.explore import sampler_curve
    from genesis_core.vision.analysis.zoo import load_zoo

    torch.set_num_threads(2)
    zoo = load_zoo(Path(args.zoo))
    steps = tuple(int(k) for k in args.steps.split(","))
    samplers = tuple(args.samplers.split(","))
    seeds = [int(s) for s in args.seeds.split(",")]
    points = []
    for member in zoo.members:
        if member["task"] != "image_diffusion":
            continue
        loaded = load_model(zoo.checkpoint(member))
        for seed in seeds:
            for row in sampler_curve(loaded.task, loaded.model, samplers, steps, args.samples, seed=1000 * seed):
                points.append({"model": member["name"], "seed": seed, **row})
                print(points[-1], flush=True)
    rows = []
    for model in dict.fromkeys(r["model"] for r in points):
        for sampler in samplers:
            for k in steps:
                same = [r for r in points if (r["model"], r["sampler"], r["steps"]) == (model, sampler, k)]
                fds = [r["fd"] for r in same]
                rows.append({"model": model, "sampler": sampler, "steps": k,
                             "network_evaluations": same[0]["network_evaluations"],
                             "fd": f"{statistics.median(fds):.0f} [{min(fds):.0f}, {max(fds):.0f}]",
                             "seconds": round(statistics.median(r["seconds"] for r in same), 2)})
    report("diffusion_samplers", rows, {"zoo": args.zoo, "fd_floor": zoo.info["fd_floor"],
                                        "fd_noise": zoo.info["fd_noise"], "samples": args.samples, "points": points})
    print(f"floor (held-out real) {zoo.info['fd_floor']:.1f}, uniform noise {zoo.info['fd_noise']:.0f}")


if __name__ == "__main__":
    main()
