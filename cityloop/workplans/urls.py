"""Mounted at /plans/ (see config/urls.py)."""

from django.urls import path

from cityloop.workplans import views

app_name = "workplans"
urlpatterns = [
    path("", views.plan_list, name="plans"),
    path("import/", views.plan_import, name="import"),
    path("import/preview/", views.plan_import_preview, name="import-preview"),
    path("<int:pk>/", views.ledger, name="ledger"),
    path("<int:pk>/bulletin/", views.bulletin, name="bulletin"),
    path("<int:pk>/bulletin.docx", views.bulletin_docx, name="bulletin-docx"),
    path("<int:pk>/bulletin.xlsx", views.bulletin_xlsx, name="bulletin-xlsx"),
    path("<int:pk>/review/", views.review, name="review"),
    path("<int:pk>/review/print/", views.review_print, name="review-print"),
    path("<int:pk>/review.docx", views.review_docx, name="review-docx"),
    path("tasks/<int:pk>/", views.task_detail, name="task"),
    path("tasks/<int:pk>/report/", views.report_form, name="report"),
    path("tasks/<int:pk>/close/", views.task_close, name="close"),
    path("tasks/<int:pk>/reopen/", views.task_reopen, name="reopen"),
    path("tasks/<int:pk>/evidence/", views.evidence_download, name="evidence"),
    path("targets/<int:pk>/indicator/", views.target_indicator, name="target-indicator"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment"),
]
