"""Body-camera live views: strips, tiles, the player's states."""

STRINGS = {
    "camera.open": ("实时画面", "Live view"),
    "camera.strip.wall": ("执法记录仪实时画面", "Body cameras live"),
    "camera.strip.incident": ("现场执法记录仪", "Cameras on this incident"),
    "camera.connecting": ("正在连接…", "Connecting…"),
    "camera.ended": ("视频流已中断，最后画面", "Stream ended, last frame"),
    "camera.no_picture": ("暂无画面，等待视频流", "No picture yet, waiting for the stream"),
    "camera.not_allowed": ("视频地址不在允许列表中，不予播放", "Stream address not on the allowed list: not played"),
    "camera.limit": ("同时播放的画面已达上限", "Too many live views playing at once"),
    "camera.none": ("暂无执法记录仪直播", "No body camera streaming"),
    "camera.failed": ("无法打开视频", "Cannot open the stream"),
    "camera.close": ("关闭", "Close"),
}
