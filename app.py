"""Mobile Member Platform: wiring only. Routes live in chalicelib/api, consumers in chalicelib/consumers."""

from chalice import Chalice

from chalicelib.api import identity, openapi, orgs
from chalicelib.api.middleware import http_conventions
from chalicelib.consumers import org_counts

app = Chalice(app_name="mmp")
app.register_middleware(http_conventions, "http")
app.register_blueprint(identity.bp)
app.register_blueprint(orgs.bp)
app.register_blueprint(openapi.bp)
app.register_blueprint(org_counts.bp)
