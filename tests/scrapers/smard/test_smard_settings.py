from __future__ import annotations

from pathlib import Path

import pytest

from scrapers.smard.catalog import DEFAULT_FUELS
from scrapers.smard.errors import ConfigError
from scrapers.smard.settings import DEFAULT_BASE_URL, load_settings

EXAMPLE = Path(__file__).parents[3] / "scrapers" / "smard" / "example.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "smard.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_built_in_defaults_cover_prices_fuels_and_load() -> None:
    settings = load_settings()
    keys = [s.series_key for s in settings.series]
    assert settings.base_url == DEFAULT_BASE_URL
    assert keys[:2] == ["smard:4169:DE-LU:hour", "smard:4169:DE-LU:quarterhour"]
    assert keys[2:-1] == [f"smard:{f}:DE:hour" for f in DEFAULT_FUELS]
    assert len(DEFAULT_FUELS) == 12
    assert keys[-1] == "smard:410:DE:hour"
    assert settings.gateway.token is None
    assert settings.gateway.retry.attempts is None  # keep trying an unavailable gateway


def test_shipped_example_is_valid() -> None:
    settings = load_settings(EXAMPLE)
    assert settings.series[0].start is not None
    assert [s.iso_resolution for s in settings.series[:2]] == ["PT15M", "PT1H"]


def test_file_then_environment_then_cli(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'base_url = "http://file/app"\n[gateway]\nurl = "http://file/graphql"\ntoken = "t1"\n',
    )
    assert load_settings(path).base_url == "http://file/app"
    env = {"SMARD_BASE_URL": "http://env/app/", "GATEWAY_URL": "http://env/graphql"}
    from_env = load_settings(path, env=env | {"GATEWAY_TOKEN": "t2"})
    assert (from_env.base_url, from_env.gateway.url) == ("http://env/app", "http://env/graphql")
    assert from_env.gateway.token is not None
    assert from_env.gateway.token.get_secret_value() == "t2"
    from_cli = load_settings(path, env=env, base_url="http://cli/app", gateway_url="http://cli/g")
    assert (from_cli.base_url, from_cli.gateway.url) == ("http://cli/app", "http://cli/g")
    assert from_cli.gateway.token is not None
    assert from_cli.gateway.token.get_secret_value() == "t1"


def test_series_in_the_file_replace_the_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[series]]\nfilter = 4169\nregion = "DE"\nresolution = "quarterhour"\n'
        'start = "2025-10-01"\nkey = "prices"\n',
    )
    (only,) = load_settings(path).series
    assert only.series_key == "prices"
    assert only.display_name == "Day-ahead price Germany/Luxembourg, DE (quarterhour)"


@pytest.mark.parametrize(
    ("series", "message"),
    [
        ('filter = 9999\nregion = "DE"\nresolution = "hour"', "unknown filter id 9999"),
        ('filter = 258\nregion = "DE"\nresolution = "hour"', "258 is refused"),
        ('filter = 4169\nregion = "XX"\nresolution = "hour"', "unknown region 'XX'"),
        ('filter = 4169\nregion = "DE"\nresolution = "minute"', "unknown resolution 'minute'"),
        ('filter = 4170\nregion = "AT"\nresolution = "hour"', "not published for region 'AT'"),
        ('filter = 122\nregion = "TenneT"\nresolution = "hour"', "use one of DE"),
        ('filter = 410\nregion = "DE"\nresolution = "hour"\ncolour = "red"', "colour"),
    ],
)
def test_bad_series_are_reported_clearly_at_start_up(
    tmp_path: Path, series: str, message: str
) -> None:
    path = write(tmp_path, f"[[series]]\n{series}\n")
    with pytest.raises(ConfigError, match=message) as info:
        load_settings(path)
    assert "series.0" in str(info.value)
    assert str(path) in str(info.value)


def test_duplicate_keys_bad_urls_and_bad_toml_are_config_errors(tmp_path: Path) -> None:
    twice = '[[series]]\nfilter = 410\nregion = "DE"\nresolution = "hour"\n' * 2
    with pytest.raises(ConfigError, match="configured twice"):
        load_settings(write(tmp_path, twice))
    with pytest.raises(ConfigError, match="http"):
        load_settings(None, base_url="www.smard.de/app")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "base_url = \n"))
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="recent_chunks"):
        load_settings(write(tmp_path, "[sync]\nrecent_chunks = 1\n"))
    with pytest.raises(ConfigError, match="jitter_seconds must be smaller"):
        load_settings(write(tmp_path, "[schedule]\ninterval_seconds = 60\njitter_seconds = 60\n"))


def test_smard_variables_reach_every_setting_and_gateway_names_win(tmp_path: Path) -> None:
    path = write(tmp_path, '[http]\nconcurrency = 2\n[gateway]\ntoken = "t1"\n')
    env = {
        "SMARD_HTTP__REQUESTS_PER_SECOND": "2.5",
        "SMARD_RETRY__TIMEOUT_SECONDS": "600",
        "SMARD_GATEWAY__URL": "http://prefixed/graphql",
        "GATEWAY_URL": "http://shared/graphql",
        "GATEWAY_TOKEN": "",  # compose's `${X:-}`: empty means unset
        "SMARD_SERIES": '[{"filter": 410, "region": "DE", "resolution": "hour"}]',
    }
    settings = load_settings(path, env=env)
    assert (settings.http.concurrency, settings.http.requests_per_second) == (2, 2.5)
    assert settings.retry.timeout_seconds == 600
    assert settings.gateway.url == "http://shared/graphql"
    assert settings.gateway.token is not None
    assert settings.gateway.token.get_secret_value() == "t1"
    assert [s.series_key for s in settings.series] == ["smard:410:DE:hour"]
    only_prefixed = {"SMARD_GATEWAY__URL": "http://prefixed/graphql"}
    assert load_settings(env=only_prefixed).gateway.url == "http://prefixed/graphql"


def test_bad_environment_values_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="http.concurrency"):
        load_settings(env={"SMARD_HTTP__CONCURRENCY": "20"})
    with pytest.raises(ConfigError, match="series"):
        load_settings(env={"SMARD_SERIES": "not json"})
    with pytest.raises(ConfigError, match="pause_seconds"):
        load_settings(write(tmp_path, "[http]\npause_seconds = 0.3\n"))  # unknown keys fail
