"""Audio-to-video lab: procedural music, visualizers, infinite data engine, AudioToVideoNet, rendering, sync metrics."""
