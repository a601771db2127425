from django.urls import path

from recognition import staff_views, views

app_name = "recognition"

urlpatterns = [
    path("draw/", views.draw, name="draw"),
    path("upload/", views.upload, name="upload"),
    path("history/", views.history, name="history"),
    path("history/export.csv", views.history_export, name="history-export"),
    path("history/<uuid:pk>/", views.detail, name="detail"),
    path("history/<uuid:pk>/feedback", views.feedback, name="feedback"),
    path("history/<uuid:pk>/delete", views.delete, name="delete"),
    path("predictions/<uuid:pk>/image", views.prediction_image, name="image"),
    path("predictions/<uuid:pk>/input/<int:index>.png", views.prediction_model_input, name="model-input"),
    # Staff only (404 for anyone else): any user's images for review, and model plots.
    path("staff/predictions/<uuid:pk>/image", staff_views.prediction_image, name="staff-image"),
    path("staff/predictions/<uuid:pk>/input/<int:index>.png", staff_views.prediction_model_input,
         name="staff-model-input"),
    path("staff/models/<str:version>/labelled-reliability.png", staff_views.labelled_reliability,
         name="staff-labelled-reliability"),
    path("staff/models/<str:version>/<str:plot>.png", staff_views.model_plot, name="staff-model-plot"),
]
