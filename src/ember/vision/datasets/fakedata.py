"""torchvision.datasets.FakeData: random images, the same for a given index on every run."""
from __future__ import annotations

from .vision import VisionDataset

__all__ = ["FakeData"]


class FakeData(VisionDataset):
    """`size` PIL images of `image_size` (C, H, W): item i is drawn from the generator seeded
    with i + random_offset (randn image, then a randint label), leaving the global generator
    as it was; so it equals torchvision's FakeData item for item."""

    def __init__(self, size: int = 1000, image_size=(3, 224, 224), num_classes: int = 10,
                 transform=None, target_transform=None, random_offset: int = 0) -> None:
        super().__init__(transform=transform, target_transform=target_transform)
        self.size = size
        self.num_classes = num_classes
        self.image_size = image_size
        self.random_offset = random_offset

    def __getitem__(self, index: int):
        from ... import _dtype
        from ...ops.creation import randint, randn
        from ...random import get_rng_state, manual_seed, set_rng_state
        from ..transforms import functional as F
        if index >= len(self):
            raise IndexError(f"{self.__class__.__name__} index out of range")
        state = get_rng_state()
        manual_seed(index + self.random_offset)
        img = randn(*self.image_size)
        target = randint(0, self.num_classes, size=(1,), dtype=_dtype.int64)[0]
        set_rng_state(state)
        img = F.to_pil_image(img)
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target.item()

    def __len__(self) -> int:
        return self.size
