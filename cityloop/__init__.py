"""CityLoop 城市运行管理服务平台."""
