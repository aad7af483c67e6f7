import torch

from genesis_core.vision.images import image_metrics, psnr_from_mse, ssim, to_pil_grid


def test_grid_and_psnr():
    img = to_pil_grid([torch.zeros(3, 1, 4, 4), torch.ones(2, 1, 4, 4)], scale=2)
    assert img.size == ((3 * 5 - 1) * 2, (2 * 5 - 1) * 2)
    assert abs(psnr_from_mse(0.01) - 20.0) < 1e-9


def test_ssim_is_one_for_identical_images_and_falls_with_noise():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 1, 28, 28, generator=g)
    assert torch.allclose(ssim(x, x), torch.ones(4), atol=1e-5)
    small = ssim((x + 0.05 * torch.randn(x.shape, generator=g)).clamp(0, 1), x).mean()
    large = ssim((x + 0.3 * torch.randn(x.shape, generator=g)).clamp(0, 1), x).mean()
    assert 1 > small > large
    m = image_metrics(x, x)
    assert m["mse"] == 0 and m["psnr_db"] > 100 and abs(m["ssim"] - 1) < 1e-5
    assert ssim(torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)).shape == (2,)  # tiny images work too
