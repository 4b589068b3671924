from django.apps import AppConfig


class RegionsConfig(AppConfig):
    name = "fengqiao.regions"
    label = "regions"
