from shared.serve import serve

from .app import build_app

if __name__ == "__main__":  # not when a worker process (replay) re-imports the main module
    serve(build_app())
