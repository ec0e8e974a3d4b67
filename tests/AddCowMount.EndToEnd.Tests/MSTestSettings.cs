// Real mounts, kill -9 timing and fio share two cores: one test at a time keeps timings meaningful.
[assembly: DoNotParallelize]
