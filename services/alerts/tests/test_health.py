from lookout_alerts.app import create_app
from lookout_alerts.settings import AlertsSettings


def test_ready_reflects_the_database(fresh_database_url):
    up = create_app(AlertsSettings(database_url=fresh_database_url)).test_client()
    assert up.get("/health/ready").status_code == 200
    down = create_app(AlertsSettings(database_url="postgresql://postgres@127.0.0.1:1/x"))
    r = down.test_client().get("/health/ready")
    assert r.status_code == 503
    assert r.json["dependencies"]["database"]["status"] == "down"
    assert down.test_client().get("/health/live").status_code == 200
