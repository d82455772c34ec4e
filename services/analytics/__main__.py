from shared.serve import serve

from .app import build_app

serve(build_app())
